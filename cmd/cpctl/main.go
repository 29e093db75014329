// Command cpctl changes passwords on cPanel & WHM servers remotely.
package main

import (
	"context"
	"os"

	"github.com/cpctl/cpctl/pkg/cmd/root"
	versioncmd "github.com/cpctl/cpctl/pkg/cmd/version"
)

// Set by the release build: -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	os.Exit(root.Main(context.Background(), versioncmd.Info{Version: version, Commit: commit, Date: date}))
}
