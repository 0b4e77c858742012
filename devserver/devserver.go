// Package devserver runs an in-process Temporal server backed by SQLite, with
// the Temporal Web UI, for the dev binary (`go run ./dev server`, the demo,
// the bench) and for end-to-end tests. It is
// modelled on `temporal server start-dev`: the same services, static hosts on
// loopback, one history shard, SQLite for both stores, and the ui-server with
// its embedded assets.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	serverconfig "go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strictcycle/strictcycle/temporalclient"
)

// Defaults of Options.
const (
	DefaultIP        = "127.0.0.1"
	DefaultNamespace = "default"
	// MemoryDB selects an in-memory store (as does an empty DBFile).
	MemoryDB = ":memory:"

	clusterName = "active"
	clusterID   = "5c0e1f4a-8d2b-4b7e-9a36-2f1d7c9e0b41"
	// readyTimeout bounds how long Start waits for the frontend and the UI
	// to answer when ctx has no earlier deadline.
	readyTimeout = 30 * time.Second

	// TransferPollRPS is history.transferProcessorMaxPollRPS of the dev
	// server (see dynamicConfig).
	TransferPollRPS = 1000
)

// Options configures Start.
type Options struct {
	// DBFile is the SQLite file; "" or MemoryDB keeps everything in memory.
	// A file is created with the schema on first use and reused afterwards,
	// so workflow histories survive restarts.
	DBFile string
	// IP is the address every service binds to (default 127.0.0.1).
	IP string
	// FrontendPort is the gRPC frontend port; 0 picks a free one.
	FrontendPort int
	// UIPort serves the Temporal Web UI; 0 disables it. Use FreePort for
	// tests.
	UIPort int
	// Namespace is registered besides "default" (idempotently).
	Namespace string
	// SearchAttributes are registered in every namespace (idempotently).
	SearchAttributes []sdktemporal.SearchAttributeKey
	// Logger receives the server's logs (at ServerLogLevel and above) and
	// the dev server's own; nil discards them.
	Logger *zap.Logger
	// ServerLogLevel filters the Temporal server's own logs, which are
	// chatty below warn: "" means warn, as `temporal server start-dev`.
	ServerLogLevel string
	// DynamicConfig overrides server dynamic config keys (e.g.
	// "matching.numTaskqueueReadPartitions").
	DynamicConfig map[string]any
}

// Server is a running dev server. Stop it once.
type Server struct {
	logger       *zap.Logger
	serverLevel  zap.AtomicLevel
	server       temporal.Server
	frontendAddr string
	uiURL        string

	ui     *uiserver.Server
	uiDone chan struct{}

	stopOnce sync.Once
}

// FrontendAddr is the host:port of the gRPC frontend, for client.Dial.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIURL is the Web UI's base URL, or "" when the UI is disabled.
func (s *Server) UIURL() string { return s.uiURL }

// Start builds and starts the server, waits until the frontend answers,
// registers the namespaces and search attributes, and starts the UI. ctx
// bounds the start only; the server runs until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	begun := time.Now()
	opts = withDefaults(opts)
	logger := opts.Logger
	srvZap, srvLevel, err := serverZap(logger, opts)
	if err != nil {
		return nil, err
	}

	ports, err := FreePorts(opts.IP, 5)
	if err != nil {
		return nil, err
	}
	if opts.FrontendPort == 0 {
		opts.FrontendPort = ports[4]
	}
	if opts.UIPort != 0 {
		// The ui-server calls os.Exit (echo's Logger.Fatal) when it cannot
		// bind, so find out here, while an error can still be returned.
		if err := checkPortFree(opts.IP, opts.UIPort); err != nil {
			return nil, fmt.Errorf("check ui port: %w", err)
		}
	}
	p := portSet{
		frontend:     opts.FrontendPort,
		frontendHTTP: ports[0],
		history:      ports[1],
		matching:     ports[2],
		worker:       ports[3],
	}

	sqlConf, created, err := prepareStore(opts)
	if err != nil {
		return nil, err
	}
	conf := buildConfig(opts, p, sqlConf)
	storeReady := time.Now()

	srvLogger := serverlog.NewZapLogger(srvZap)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("create authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, srvLogger)
	if err != nil {
		return nil, fmt.Errorf("create claim mapper: %w", err)
	}
	host := func(port int) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(port)))
	}
	srv, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(conf),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: host(p.frontend),
			primitives.HistoryService:  host(p.history),
			primitives.MatchingService: host(p.matching),
			primitives.WorkerService:   host(p.worker),
		}),
		temporal.WithLogger(srvLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*serverconfig.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig(opts)),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	serverStarted := time.Now()
	s := &Server{
		logger:       logger,
		serverLevel:  srvLevel,
		server:       srv,
		frontendAddr: net.JoinHostPort(opts.IP, strconv.Itoa(p.frontend)),
	}

	ctx, cancel := withDefaultTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.registerSearchAttributes(ctx, opts); err != nil {
		s.Stop()
		return nil, err
	}
	if opts.UIPort != 0 {
		if err := s.startUI(ctx, opts); err != nil {
			s.Stop()
			return nil, err
		}
	}
	logger.Info("temporal dev server started",
		zap.String("frontend", s.frontendAddr),
		zap.String("ui", s.uiURL),
		zap.String("db", dbName(opts.DBFile)),
		zap.Bool("db_created", created),
		zap.Duration("elapsed", time.Since(begun)),
		zap.Duration("store", storeReady.Sub(begun)),
		zap.Duration("services", serverStarted.Sub(storeReady)),
		zap.Duration("ready", time.Since(serverStarted)))
	return s, nil
}

// Stop stops the UI and the server. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		// Services that stop one after another log each other's absence
		// (failed polls, refused dials) as warnings: expected noise here.
		if s.serverLevel.Level() < zapcore.ErrorLevel {
			s.serverLevel.SetLevel(zapcore.ErrorLevel)
		}
		if err := s.server.Stop(); err != nil {
			s.logger.Warn("stop temporal dev server", zap.Error(err))
		}
	})
}

type portSet struct {
	frontend, frontendHTTP, history, matching, worker int
}

func withDefaults(opts Options) Options {
	if opts.IP == "" {
		opts.IP = DefaultIP
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.ServerLogLevel == "" {
		opts.ServerLogLevel = "warn"
	}
	return opts
}

// serverZap filters the server's logs through a level that Stop can raise.
// zap.IncreaseLevel may only raise the logger's level, hence the max.
func serverZap(logger *zap.Logger, opts Options) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := zapcore.ParseLevel(opts.ServerLogLevel)
	if err != nil {
		return nil, zap.AtomicLevel{}, fmt.Errorf("parse server log level: %w", err)
	}
	atomic := zap.NewAtomicLevelAt(max(lvl, logger.Level()))
	return logger.Named("temporal").WithOptions(zap.IncreaseLevel(atomic)), atomic, nil
}

func namespaces(opts Options) []string {
	if opts.Namespace == DefaultNamespace {
		return []string{DefaultNamespace}
	}
	return []string{DefaultNamespace, opts.Namespace}
}

func dbName(file string) string {
	if file == "" || file == MemoryDB {
		return MemoryDB
	}
	return file
}

// prepareStore returns the SQLite config. A new file gets the schema; every
// start creates the namespaces that are missing (a no-op when present), with
// the search attributes pre-seeded, as start-dev does.
func prepareStore(opts Options) (*serverconfig.SQL, bool, error) {
	conf := &serverconfig.SQL{PluginName: sqliteplugin.PluginName}
	created := false
	if dbName(opts.DBFile) == MemoryDB {
		// The plugin creates the schema of an in-memory database itself.
		// The name must be unique within the process: the plugin keeps a
		// connection per DSN for the life of the process.
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = "strictcycle-" + strconv.FormatUint(rand.Uint64(), 36)
	} else {
		// WAL with synchronous=NORMAL: far fewer fsyncs than the default
		// rollback journal, and still durable across process crashes.
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "1"}
		conf.DatabaseName = opts.DBFile
		if _, err := os.Stat(opts.DBFile); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
				return nil, false, fmt.Errorf("create db dir %q: %w", filepath.Dir(opts.DBFile), err)
			}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, false, fmt.Errorf("set up sqlite schema %q: %w", opts.DBFile, err)
			}
			created = true
		} else if err != nil {
			return nil, false, fmt.Errorf("stat db file %q: %w", opts.DBFile, err)
		}
	}

	attrs := make(map[string]enumspb.IndexedValueType, len(opts.SearchAttributes))
	for _, k := range opts.SearchAttributes {
		attrs[k.GetName()] = k.GetValueType()
	}
	var nsConfs []*sqliteschema.NamespaceConfig
	for _, ns := range namespaces(opts) {
		nc, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, attrs)
		if err != nil {
			return nil, false, fmt.Errorf("build namespace %q: %w", ns, err)
		}
		nsConfs = append(nsConfs, nc)
	}
	if err := sqliteschema.CreateNamespaces(conf, nsConfs...); err != nil {
		return nil, false, fmt.Errorf("create namespaces in %q: %w", dbName(opts.DBFile), err)
	}
	return conf, created, nil
}

func buildConfig(opts Options, p portSet, sqlConf *serverconfig.SQL) *serverconfig.Config {
	var conf serverconfig.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = opts.IP

	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]serverconfig.DataStore{"sqlite-default": {SQL: sqlConf}}

	frontend := net.JoinHostPort(opts.IP, strconv.Itoa(p.frontend))
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(opts.IP, strconv.Itoa(p.frontendHTTP)),
				// A fixed id (the server wants a UUID): a reused DB file
				// records the cluster's metadata and finds it unchanged.
				ClusterID: clusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	service := func(grpcPort, httpPort int) serverconfig.Service {
		var s serverconfig.Service
		s.RPC.GRPCPort = grpcPort
		s.RPC.HTTPPort = httpPort
		s.RPC.BindOnIP = opts.IP
		return s
	}
	conf.Services = map[string]serverconfig.Service{
		"frontend": service(p.frontend, p.frontendHTTP),
		"history":  service(p.history, 0),
		"matching": service(p.matching, 0),
		"worker":   service(p.worker, 0),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return &conf
}

func dynamicConfig(opts Options) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		// As start-dev: a larger mutable state cache, more visibility RPS
		// (the UI lists a lot).
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// One partition per task queue: a single dev worker polls it, and
		// a task never waits to be forwarded between partitions.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
		// Search attributes added through the operator service are usable
		// at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// The transfer queue hands new workflow and activity tasks to
		// matching. Its reader loads at most this many times a second per
		// history shard (default 20, sized for clusters of hundreds of
		// shards); with the one shard here that is the whole server's rate,
		// and a cycle's tasks waited ~40 ms each for a token once a few
		// cycles a second had used them up (bench PASS cycle p50 ~230 ms,
		// ~120 ms of it between WorkflowTaskScheduled and Started; ~115 ms
		// and ~13 ms with 1000, docs/PERFORMANCE.md). Loads happen only
		// when a task is written, so an idle server does not poll more.
		dynamicconfig.TransferProcessorMaxPollRPS.Key(): TransferPollRPS,
	}
	for k, v := range opts.DynamicConfig {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// registerSearchAttributes waits for the frontend, then adds the search
// attributes missing from each namespace (a DB file created before an
// attribute was declared does not have it pre-seeded).
func (s *Server) registerSearchAttributes(ctx context.Context, opts Options) error {
	c, err := dialReady(ctx, s.frontendAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if len(opts.SearchAttributes) == 0 {
		return nil
	}
	for _, ns := range namespaces(opts) {
		if err := temporalclient.EnsureSearchAttributes(ctx, c.OperatorService(), ns, opts.SearchAttributes); err != nil {
			return err
		}
	}
	return nil
}

// dialReady connects an SDK client, retrying until the frontend answers
// (client.Dial checks the server's capabilities) or ctx ends.
func dialReady(ctx context.Context, addr string) (sdkclient.Client, error) {
	var lastErr error
	for {
		c, err := sdkclient.DialContext(ctx, sdkclient.Options{
			HostPort:  addr,
			Namespace: DefaultNamespace,
			Logger:    nopSDKLogger{},
		})
		if err == nil {
			return c, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial dev server %s: %w", addr, errors.Join(lastErr, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) startUI(ctx context.Context, opts Options) error {
	ui := uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                opts.IP,
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		// Plain http on loopback: the CSRF cookie must not require https.
		CORS:             uiconfig.CORS{CookieInsecure: true},
		HideLogs:         true,
		DisableNewsFetch: true, // no network beyond this machine
	}))
	s.ui = ui
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop; it returns nil on a clean stop.
		if err := ui.Start(); err != nil {
			s.logger.Error("serve temporal web ui", zap.Error(err))
		}
	}()
	base := "http://" + net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort))
	if err := waitHTTP(ctx, base+"/healthz"); err != nil {
		return fmt.Errorf("start web ui on %s: %w", base, err)
	}
	s.uiURL = base
	return nil
}

func waitHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// FreePorts returns n distinct free TCP ports on ip. They are held open
// together while chosen, so they differ, then released.
func FreePorts(ip string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("pick free port on %s: %w", ip, err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort returns one free TCP port on ip (see FreePorts).
func FreePort(ip string) (int, error) {
	ps, err := FreePorts(ip, 1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

func checkPortFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// nopSDKLogger silences the internal readiness client.
type nopSDKLogger struct{}

func (nopSDKLogger) Debug(string, ...any) {}
func (nopSDKLogger) Info(string, ...any)  {}
func (nopSDKLogger) Warn(string, ...any)  {}
func (nopSDKLogger) Error(string, ...any) {}
