package batch

import "github.com/cpctl/cpctl/pkg/fate"

// failedExit reads a journal back once its run has ended and gives the exit
// code its rows' failures share (fate.Failures), for a run in which no row
// succeeded. A row's code is its last outcome's, except that a row whose
// change may have been applied (a reply was lost, or the run stopped with
// the request in flight) is "retry later" (4) whatever came after, and a row
// never sent has no reason of its own (5).
func failedExit(path string) (int, error) {
	var codes []uint8 // the last outcome's exit code, by row
	st, err := readStateBefore(path, func(st *journalState, rec *record) error {
		if rec.T != recOutcome || !st.planned || rec.Seq < 1 || rec.Seq > st.total {
			return nil
		}
		if codes == nil {
			codes = make([]uint8, st.total+1)
		}
		codes[rec.Seq] = uint8(rec.outcome().ExitCode())
		return nil
	})
	if err != nil {
		return 0, err
	}
	last := func(seq int) int {
		if codes == nil {
			return fate.ExitPartial
		}
		return int(codes[seq])
	}
	var f fate.Failures
	for seq := 1; seq <= st.total; seq++ {
		sr, sent := st.sent[seq]
		switch {
		case st.applied.has(seq):
		case st.done.has(seq):
			f.Add(last(seq))
		case sent && (sr.uncertain || !sr.answered):
			f.Add(fate.ExitTransport)
		case sent:
			f.Add(last(seq))
		default:
			f.Add(fate.ExitPartial)
		}
	}
	return f.ExitCode(), nil
}
