// Package version says which kagi this is.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/kagikms/kagi/internal/version.Version=v1.2.3".
var Version = "dev"

// String describes the build: version, Go version, platform and the
// module's VCS revision when the build recorded one.
func String() string {
	s := fmt.Sprintf("kagi %s (%s %s/%s", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " " + kv.Value[:12]
			}
		}
	}
	return s + ")"
}
