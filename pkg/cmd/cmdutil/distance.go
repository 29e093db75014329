package cmdutil

// EditDistance is the Levenshtein distance between a and b, by bytes: how
// many single-byte insertions, deletions and substitutions turn one into
// the other. It ranks suggestions for a mistyped name (an unknown command,
// a --reseller the server does not have); the names are ASCII.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
