//go:build !unix

package procrun

import "os/exec"

// setProcessGroup: without process groups only the command itself is killed.
func setProcessGroup(cmd *exec.Cmd) {}
