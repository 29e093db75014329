package passwd

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

// BulkOptions are the flags of a bulk run.
type BulkOptions struct {
	From        string
	Resume      string
	Journal     string
	Concurrency int
	Rate        string
	Validate    bool
}

// Active reports whether a bulk flag was given.
func (b *BulkOptions) Active() bool { return b.From != "" || b.Resume != "" }

func addBulkFlags(cmd *cobra.Command, o *Options) {
	fl := cmd.Flags()
	fl.StringVar(&o.Bulk.From, "from", "", "bulk: rows from `FILE` (CSV with a header row, or JSON Lines; - for standard input)")
	fl.StringVar(&o.Bulk.Resume, "resume", "", "bulk: finish the run recorded in `JOURNAL`")
	fl.StringVar(&o.Bulk.Journal, "journal", "", "bulk: journal `FILE` (default: a timestamped file in the working directory)")
	fl.IntVar(&o.Bulk.Concurrency, "concurrency", 4, "bulk: requests in flight per server")
	fl.StringVar(&o.Bulk.Rate, "rate", "", "bulk: at most this many requests, e.g. 10/s or 600/m")
	fl.BoolVar(&o.Bulk.Validate, "validate", false, "bulk: only check the input file")
}

func runBulk(ctx context.Context, o *Options) error {
	return errors.New("bulk: todo")
}
