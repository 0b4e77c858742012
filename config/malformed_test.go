package config

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// malformedContracts maps every file of testdata/malformed to the error
// LoadContract must return, after the `load contract "<path>": ` prefix
// that names the file. A file without an entry fails the test.
var malformedContracts = map[string]string{
	"bad_duration.yaml":                  "decode contract: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `20 minutes` into time.Duration",
	"bad_expression.yaml":                "validate contract: checks[0] (a): report.condition: compile \"status ==\": unexpected token EOF (1:9)",
	"alias_in_valid_field.yaml":          "decode contract: line 2: anchor &d: YAML anchors are not allowed in a contract",
	"billion_laughs.yaml":                "decode contract: line 1: anchor &a: YAML anchors are not allowed in a contract",
	"condition_concat_in_predicate.yaml": "validate contract: checks[0] (a): report.condition: compile \"all(items, # + big != \\\"\\\")\": + is not allowed inside a predicate (a string concatenation allocates once per element)",
	"condition_huge_range.yaml":          "validate contract: checks[0] (a): report.condition: compile \"len(1..100000000) > 0\": range 1..100000000 has more than 1000 elements",
	"condition_let_doubling.yaml":        "validate contract: checks[0] (a): report.condition: compile \"let a = s + s; let b = a + a; b != \\\"\\\"\": let is not allowed in a condition",
	"condition_reduce.yaml":              "validate contract: checks[0] (a): report.condition: compile \"reduce(1..31, #acc + #acc, \\\"ab\\\") != \\\"\\\"\": builtin reduce() is not allowed in a condition (its cost is not bounded by the report); + is not allowed inside a predicate (a string concatenation allocates once per element)",
	"condition_repeat.yaml":              "validate contract: checks[0] (a): report.condition: compile \"len(repeat(\\\"ab\\\", 1000000000)) > 0\": builtin repeat() is not allowed in a condition (its cost is not bounded by the report)",
	"env_worker_secret.yaml":             "validate contract: checks[0] (a): command.pass_env[1]: REDIS_URL is a setting of the worker and is never passed to a child; checks[0] (a): command.pass_env[2]: \"A-B\" is not a variable name (^[A-Za-z_][A-Za-z0-9_]*$); checks[0] (a): command.secret_env[0]: PATH_EXTRA is already listed (checks[0] (a): command.pass_env[0]); checks[0] (a): command.secret_env[1]: TEMPORAL_API_KEY is a setting of the worker and is never passed to a child; checks[0] (a): command.env: \"X=Y\" is not a variable name (^[A-Za-z_][A-Za-z0-9_]*$)",
	"blank_name.yaml":                    "validate contract: name: must not be empty",
	"bom.yaml":                           "decode contract: yaml: unmarshal errors:\n  line 1: field nme not found in type config.Contract",
	"condition_wrong_type.yaml":          "decode contract: yaml: unmarshal errors:\n  line 9: cannot unmarshal !!seq into string",
	"container_injection.yaml":           "validate contract: services.svc: container \"../../x\" does not match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
	"deeply_nested.yaml":                 "decode contract: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!seq into config.Check",
	"duplicate_check_names.yaml":         "validate contract: checks[1] (a): duplicate name (also checks[0])",
	"duplicate_yaml_keys.yaml":           "decode contract: yaml: unmarshal errors:\n  line 2: mapping key \"name\" already defined at line 1",
	"duration_overflow.yaml":             "decode contract: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `9999999...` into time.Duration",
	"empty.yaml":                         "decode contract: empty document",
	"evidence_absolute.yaml":             "validate contract: checks[0] (a): evidence[0]: path \"/etc/shadow\" is absolute (paths are relative to the root)",
	"exec_injection_backtick.yaml":       "validate contract: recovery.exec.restart[1]: \"`id`\" contains shell metacharacter \"`\" (argv is not run through a shell)",
	"exec_injection_newline.yaml":        "validate contract: recovery.exec.restart[1]: \"a\\nb\" contains shell metacharacter \"\\n\" (argv is not run through a shell)",
	"exec_injection_semicolon.yaml":      "validate contract: recovery.exec.restart[2]: \"{service};rm -rf /\" contains shell metacharacter \";\" (argv is not run through a shell)",
	"exec_injection_subshell.yaml":       "validate contract: recovery.exec.restart[1]: \"$(id)\" contains shell metacharacter \"$\" (argv is not run through a shell)",
	"docker_health_wait.yaml":            "validate contract: recovery.docker.timeout + health_timeout: 30s + 1m30s exceed 1m40s (the restart activity's limit is 2m)",
	"exec_no_template.yaml":              "validate contract: recovery.exec: driver exec needs restart, or stop and start",
	"exec_unknown_placeholder.yaml":      "validate contract: recovery.exec.restart[1]: placeholder {pid} is not {service} or {root}",
	"glob_escape.yaml":                   "validate contract: checks[0] (a): report.globs[0]: path \"reports/../../*.json\" escapes the root",
	"huge_number.yaml":                   "decode contract: yaml: unmarshal errors:\n  line 11: cannot unmarshal !!float `9999999...` into int",
	"json_array.yaml":                    "decode contract: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into config.Contract",
	"missing_check_name.yaml":            "validate contract: checks[0]: name must not be empty",
	"missing_name.yaml":                  "validate contract: name: must not be empty",
	"negative_duration.yaml":             "validate contract: freshness.window: duration -5m0s is negative",
	"no_checks.yaml":                     "validate contract: checks: must list at least one check",
	"non_boolean_expression.yaml":        "validate contract: checks[0] (a): report.condition: compile \"1 + 2\": expected bool, but got int",
	"null.yaml":                          "validate contract: name: must not be empty; checks: must list at least one check",
	"path_absolute.yaml":                 "validate contract: checks[0] (a): report.path: path \"/etc/passwd\" is absolute (paths are relative to the root)",
	"path_backslash.yaml":                "validate contract: checks[0] (a): report.path: path \"..\\\\..\\\\secret.json\" escapes the root",
	"path_dotdot.yaml":                   "validate contract: checks[0] (a): report.path: path \"reports/../../etc/passwd\" escapes the root",
	"path_windows_drive.yaml":            "validate contract: checks[0] (a): report.path: path \"C:/secret.json\" is absolute (paths are relative to the root)",
	"profile_leading_dash.yaml":          "validate contract: services.svc: profiles[0] \"--file=/etc/passwd\" does not match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
	"service_injection.yaml":             "validate contract: services.svc;rm -rf /: name \"svc;rm -rf /\" does not match ^[a-z0-9][a-z0-9_.-]*$",
	"service_leading_dash.yaml":          "validate contract: services.--help: name \"--help\" does not match ^[a-z0-9][a-z0-9_.-]*$",
	"service_newline.yaml":               "validate contract: services[\"svc\\nx\"]: name \"svc\\nx\" does not match ^[a-z0-9][a-z0-9_.-]*$",
	"service_subshell.yaml":              "validate contract: services.$(id): name \"$(id)\" does not match ^[a-z0-9][a-z0-9_.-]*$",
	"tabs.yaml":                          "decode contract: yaml: line 6: found a tab character that violates indentation",
	"truncated.yaml":                     "decode contract: yaml: line 8: found unexpected end of stream",
	"two_documents.yaml":                 "decode contract: more than one YAML document",
	"unknown_field.yaml":                 "decode contract: yaml: unmarshal errors:\n  line 8: field colour not found in type config.Check",
	"unknown_kind.yaml":                  "validate contract: checks[0] (a): kind \"reprot\" is not one of command|coordination_policy|day2_gate|files_glob|files_present|multi_bot_policy|parity_gate|redis_group_lag|redis_ping|redis_stream_fresh|report|secrets_hygiene|strategy_catalog|trading_ladder",
	"unknown_top_field.yaml":             "decode contract: yaml: unmarshal errors:\n  line 10: field extra not found in type config.Contract",
	"wrong_type_checks.yaml":             "decode contract: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!map into []config.Check",
}

func TestMalformedContractCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "malformed")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, ok := malformedContracts[name]
			require.True(t, ok, "no expected error for %s", name)
			p := filepath.Join(dir, name)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c, err := LoadContract(p)
			runtime.ReadMemStats(&after)
			require.Nil(t, c)
			require.Error(t, err)
			prefix := `load contract "` + p + `": `
			require.True(t, strings.HasPrefix(err.Error(), prefix), "error does not name the file: %v", err)
			got := strings.TrimPrefix(err.Error(), prefix)
			if strings.HasSuffix(want, "…") {
				require.True(t, strings.HasPrefix(got, strings.TrimSuffix(want, "…")), "got %q", got)
			} else {
				require.Equal(t, want, got)
			}
			// Alias bombs and deep nesting must not blow up memory.
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "allocated too much")
		})
	}
}

// TestContractSizeCap: a contract larger than MaxContractBytes, a device
// and a directory are refused before they are read into memory.
func TestContractSizeCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(big, []byte("name: t\ndescription: "+strings.Repeat("x", MaxContractBytes)+"\n"), 0o644))
	tests := []struct {
		name, path, want string
	}{
		{"too big", big, `load contract "` + big + `": larger than 1048576 bytes`},
		{"device", "/dev/zero", `load contract "/dev/zero": not a regular file (Dc---------)`},
		{"directory", "testdata/", `load contract "testdata/": not a regular file (d---------)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadContract(tt.path)
			require.EqualError(t, err, tt.want)
		})
	}
	_, err := ParseContract(make([]byte, MaxContractBytes+1))
	require.EqualError(t, err, "decode contract: larger than 1048576 bytes")
}
