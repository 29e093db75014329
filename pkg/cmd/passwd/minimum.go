package passwd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// minimumsTTL is how long fetched minimums are trusted: they change rarely,
// and a stale value only moves a refusal from us to the server.
const minimumsTTL = 24 * time.Hour

type minimumsCache struct {
	Fetched  time.Time      `json:"fetched"`
	URL      string         `json:"url"`
	Minimums map[string]int `json:"minimums"`
}

// minimum returns the server's minimum strength for app: the profile's
// min-strength when set, else the server's own figure, cached for a day
// under $XDG_CACHE_HOME/cpctl. 0 means unknown (the server still checks).
func (o *Options) minimum(ctx context.Context, c *cpanel.Client, t *cmdutil.Target, app string) int {
	if t.Profile.MinStrength > 0 {
		return t.Profile.MinStrength
	}
	m := o.minimums(ctx, c, t)
	if v, ok := m[app]; ok {
		return v
	}
	if m != nil && c.Kind() == cpanel.KindCPanel {
		// A cPanel login reads one app at a time, and the first read asked
		// for passwd and ftp only: the database apps are read when needed.
		if v, err := c.RequiredStrength(ctx, app); err == nil {
			m[app] = v
			o.saveMinimums(t, m)
			return v
		}
	}
	return m["default"]
}

func (o *Options) minimums(ctx context.Context, c *cpanel.Client, t *cmdutil.Target) map[string]int {
	path := cachePath(t)
	if data, err := os.ReadFile(path); err == nil {
		var mc minimumsCache
		if json.Unmarshal(data, &mc) == nil && mc.URL == t.Profile.URL && o.Now().Sub(mc.Fetched) < minimumsTTL && mc.Minimums != nil {
			return mc.Minimums
		}
	}
	m, err := c.MinimumStrengths(ctx)
	if err != nil {
		// Not every login may read them (a reseller without the ACL, a
		// server without the function): the server checks anyway.
		if o.Verbose {
			fmt.Fprintf(o.IO.ErrOut, "cpctl: could not read the server's minimum password strengths: %s\n", termsafe.String(err.Error()))
		}
		return nil
	}
	o.saveMinimums(t, m)
	return m
}

func (o *Options) saveMinimums(t *cmdutil.Target, m map[string]int) {
	data, err := json.Marshal(minimumsCache{Fetched: o.Now(), URL: t.Profile.URL, Minimums: m})
	if err == nil {
		_ = config.WriteFileAtomic(cachePath(t), data) // a cache: failing to write it costs one more call next time
	}
}

// cachePath names the cache file by profile and a hash of the URL and
// user, so two profiles for one server never mix their figures.
func cachePath(t *cmdutil.Target) string {
	sum := sha256.Sum256([]byte(t.Profile.URL + "\x00" + t.Profile.User))
	name := t.Name
	if name == "" {
		name = "url"
	}
	return filepath.Join(config.CacheDir(), "minimums", fmt.Sprintf("%s-%s.json", name, hex.EncodeToString(sum[:6])))
}
