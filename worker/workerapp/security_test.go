package workerapp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/strictcycle/strictcycle/activities"
	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/gates"
	"github.com/strictcycle/strictcycle/redistest"
	"github.com/strictcycle/strictcycle/worker/workerapp"
)

// TestRedisAUTH: the worker's Redis client built from REDIS_URL /
// REDIS_PASSWORD authenticates against a redis-server with --requirepass;
// with a wrong or missing password PublishDecision and the gate's
// redis_ping fail closed with a clear error that carries no password.
func TestRedisAUTH(t *testing.T) {
	const pw = "s3cret-Pa55word"
	addr := redistest.Start(t, pw).Addr()
	tests := []struct {
		name     string
		url      string
		password string
		wantErr  string // a regexp; "" means success
	}{
		{"password in REDIS_URL", "redis://:" + pw + "@" + addr + "/0", "", ""},
		{"REDIS_PASSWORD overrides a wrong URL password", "redis://:wrong-one@" + addr + "/0", pw, ""},
		{"username default and password in URL", "redis://default:" + pw + "@" + addr + "/0", "", ""},
		{"wrong password", "redis://" + addr + "/0", "not-" + pw, `WRONGPASS invalid username-password pair or user is disabled\.`},
		{"missing password", "redis://" + addr + "/0", "", `NOAUTH Authentication required\.|ERR Protocol error: unauthenticated multibulk length`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Redis.URL, cfg.Redis.Password = tt.url, tt.password
			cfg.Redis.Stream = "sctest-auth-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			cfg.Redis.KeyPrefix = cfg.Redis.Stream
			rdb, err := workerapp.NewRedis(cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = rdb.Close() })

			// PublishDecision, as the worker runs it.
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(workerapp.NewActivities(cfg, rdb))
			env.SetTestTimeout(30 * time.Second)
			_, pubErr := env.ExecuteActivity(activities.PublishDecisionName, &activities.PublishDecisionInput{
				Environment: "auth", WorkflowID: "strictcycle-auth-cycle", RunID: "r1", Status: "PASS", CriticalFailures: []string{}})

			// The gate's redis_ping.
			root := t.TempDir()
			c := &config.Contract{Name: "auth", Checks: []config.Check{{Name: "bus", Severity: config.SeverityCritical, Kind: config.KindRedisPing}}}
			eng, err := gates.New(c, gates.Options{Root: root, Redis: gates.NewRedisClient(rdb)})
			require.NoError(t, err)
			rep, err := eng.Run(context.Background(), gates.RunOptions{RunID: "auth"})
			require.NoError(t, err)
			ping := rep.Checks[0]

			if tt.wantErr == "" {
				require.NoError(t, pubErr)
				n, err := rdb.XLen(context.Background(), cfg.Redis.Stream).Result()
				require.NoError(t, err)
				require.EqualValues(t, 1, n)
				require.Equal(t, gates.VerdictPass, ping.Verdict, ping.Reason)
				require.Equal(t, gates.StatusPass, rep.Status)
				_ = rdb.Del(context.Background(), cfg.Redis.Stream).Err()
				return
			}
			require.Error(t, pubErr)
			require.Regexp(t, tt.wantErr, pubErr.Error())
			require.NotContains(t, pubErr.Error(), pw)
			require.Equal(t, gates.VerdictError, ping.Verdict)
			require.Equal(t, gates.StatusFail, rep.Status)
			require.Regexp(t, tt.wantErr, ping.Text())
			require.NotContains(t, ping.Text(), pw)
			js, err := gates.MarshalReport(rep)
			require.NoError(t, err)
			require.NotContains(t, string(js), pw)
		})
	}
}

// TestRedisConnectErrorHasNoPassword: a Redis that does not answer gives an
// error with the address, never the URL or its password.
func TestRedisConnectErrorHasNoPassword(t *testing.T) {
	const pw = "s3cret-unreachable"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, tt := range []struct{ url, password string }{
		{"redis://user:" + pw + "@" + addr + "/0", ""},
		{"redis://" + addr + "/0", pw},
		{"rediss://:" + pw + "@" + addr + "/0", ""},
	} {
		cfg := config.Default()
		cfg.Redis.URL, cfg.Redis.Password, cfg.Redis.DialTimeout = tt.url, tt.password, time.Second
		rdb, err := workerapp.NewRedis(cfg)
		require.NoError(t, err)
		err = rdb.Ping(context.Background()).Err()
		_ = rdb.Close()
		require.Error(t, err)
		require.Contains(t, err.Error(), addr)
		require.NotContains(t, err.Error(), pw)
	}
	// A URL go-redis refuses: the error names neither URL nor password.
	cfg := config.Default()
	cfg.Redis.URL = "redis://:" + pw + "@" + addr + "/0?bogus=1"
	_, err = workerapp.NewRedis(cfg)
	require.Error(t, err)
	require.NotContains(t, err.Error(), pw)
}

// writePKI writes a CA, a client certificate signed by it and its key as
// PEM files, and returns their paths.
func writePKI(t *testing.T) (ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strictcycle test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "strictcycle-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	require.NoError(t, err)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("client.pem", "CERTIFICATE", leafDER), write("client-key.pem", "EC PRIVATE KEY", keyDER)
}

// TestClientOptionsTLSAndAPIKey: TEMPORAL_TLS_* become the connection's TLS
// config (client certificate, CA pool, server name), TEMPORAL_API_KEY the
// credentials; nothing of them is logged.
func TestClientOptionsTLSAndAPIKey(t *testing.T) {
	const apiKey = "tmprl-apikey-s3cret"
	caPath, certPath, keyPath := writePKI(t)
	keyPEM, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)

	cfg := config.Default()
	cfg.Temporal.Address = "ns.acct.tmprl.cloud:7233"
	cfg.Temporal.TLSCert, cfg.Temporal.TLSKey, cfg.Temporal.TLSCA = certPath, keyPath, caPath
	cfg.Temporal.TLSServerName = "ns.acct.tmprl.cloud"
	cfg.Temporal.APIKey = apiKey
	opts, err := workerapp.ClientOptions(cfg, logger)
	require.NoError(t, err)
	tc := opts.ConnectionOptions.TLS
	require.NotNil(t, tc)
	require.Equal(t, "ns.acct.tmprl.cloud", tc.ServerName)
	require.GreaterOrEqual(t, tc.MinVersion, uint16(0x0303)) // TLS 1.2
	require.Len(t, tc.Certificates, 1)
	leaf, err := x509.ParseCertificate(tc.Certificates[0].Certificate[0])
	require.NoError(t, err)
	require.Equal(t, "strictcycle-worker", leaf.Subject.CommonName)
	require.NotNil(t, tc.RootCAs)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: tc.RootCAs, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err, "the CA pool is the configured CA")
	require.NotNil(t, opts.Credentials)

	// TLS without files: the system roots.
	plain := config.Default()
	plain.Temporal.TLS = true
	opts, err = workerapp.ClientOptions(plain, logger)
	require.NoError(t, err)
	require.NotNil(t, opts.ConnectionOptions.TLS)
	require.Nil(t, opts.ConnectionOptions.TLS.RootCAs)
	require.Empty(t, opts.ConnectionOptions.TLS.Certificates)
	require.Nil(t, opts.Credentials)

	// A key file that is not a key: the error names the certificate path,
	// not the key's content.
	bad := filepath.Join(t.TempDir(), "bad-key.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not-a-key s3cret-material"), 0o600))
	cfg.Temporal.TLSKey = bad
	_, err = workerapp.ClientOptions(cfg, logger)
	require.ErrorContains(t, err, fmt.Sprintf("load temporal client certificate %q", certPath))
	require.NotContains(t, err.Error(), "s3cret-material")

	var all bytes.Buffer
	for _, e := range logs.All() {
		fmt.Fprintln(&all, e.Message, e.ContextMap())
	}
	for _, secret := range []string{apiKey, string(keyPEM), keyPath, "s3cret-material"} {
		require.NotContains(t, all.String(), secret)
	}
}
