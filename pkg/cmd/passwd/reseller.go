package passwd

// A --reseller NAME selection that finds no account. The server's listaccts
// answers the same for a reseller without accounts and for a name that is
// no reseller at all, so a cron job with a mistyped name would "succeed"
// forever while changing nothing. WHM API 1 listresellers tells the two
// apart where the profile may call it (root); where it may not (a
// reseller's token, a server without it) the line says where to check the
// name, and the run ends as it did before the check: exit 0.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// checkReseller asks the server, when a --reseller selection found no
// account, whether the name is one of its resellers. A name the server
// does not list is a usage error (exit 2), with the nearest listed name
// when one is near; a known one (root, the profile's own login, a listed
// reseller) sets res.ownerKnown. A failed listresellers is no error of the
// run: it only leaves the name unchecked.
func (r *resolver) checkReseller(ctx context.Context, res *resolution) error {
	name := r.sel.Reseller
	if name == "" || res.accounts != 0 || !r.whm {
		return nil
	}
	// Root is on every server, and is no reseller (listresellers leaves it
	// out); a WHM profile's own login is root or a reseller.
	if strings.EqualFold(name, "root") || strings.EqualFold(name, r.self) {
		res.ownerKnown = true
		return nil
	}
	names, err := r.l.ListResellers(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted, not refused: the run stops as any other would.
			return fmt.Errorf("--reseller %s: %w; nothing was changed", termsafe.String(name), ctx.Err())
		}
		return nil
	}
	if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
		res.ownerKnown = true
		return nil
	}
	hint := ""
	if near := nearNames(name, names); len(near) > 0 {
		hint = " (did you mean " + strings.Join(near, " or ") + "?)"
	}
	// The name is the user's and the suggestions the server's: neither
	// reaches the terminal unescaped.
	shown := termsafe.String(name)
	return cmdutil.Usagef("--reseller %s: the server has no reseller named %s%s; nothing was changed", shown, shown, termsafe.String(hint))
}

// maxSuggestions bounds the names a suggestion offers.
const maxSuggestions = 3

// nearNames are the names nearest to name, compared without case, when
// they are near enough to be a slip of the keyboard: at most two edits,
// and fewer than half of name's length. They are sorted, since a server
// lists its resellers in no set order.
func nearNames(name string, names []string) []string {
	lname := strings.ToLower(name)
	limit := min(2, (len(lname)-1)/2) // 2d < len(name)
	if limit < 1 {
		return nil
	}
	best := limit
	var near []string
	for _, n := range names {
		d := cmdutil.EditDistance(lname, strings.ToLower(n))
		switch {
		case d > best:
		case d < best:
			best, near = d, []string{n}
		default:
			near = append(near, n)
		}
	}
	slices.Sort(near)
	near = slices.Compact(near)
	return near[:min(len(near), maxSuggestions)]
}

// ownsNothing is what the line of a --reseller selection that found no
// account says of its name, which the caller has made safe to print.
func ownsNothing(name string, known bool) string {
	switch {
	case !known:
		return fmt.Sprintf("the server lists no account owned by %s (is the name right? 'cpctl whmapi1 listresellers' lists the resellers)", name)
	case strings.EqualFold(name, "root"):
		return name + " owns no account"
	}
	return "reseller " + name + " owns no account"
}
