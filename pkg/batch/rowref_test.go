package batch

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cpctl/cpctl/pkg/fate"
)

// journal show's -o json and -o yaml print Failure and Undelivered flat,
// as docs/output-schema.md documents them: the shared RowRef is inlined.
func TestRowRefInlined(t *testing.T) {
	ref := RowRef{Seq: 2, Line: 3, Target: "bob", Owner: "res1", Profile: "p", Kind: KindFTP}
	for name, v := range map[string]any{
		"failure":     Failure{RowRef: ref, State: fate.Refused},
		"undelivered": Undelivered{RowRef: ref, State: fate.Applied},
	} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(j), `{"seq":2,"line":3,"target":"bob","owner":"res1","profile":"p","kind":"ftp","state":`) {
			t.Errorf("%s JSON: %s", name, j)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(y), "seq: 2\nline: 3\ntarget: bob\nowner: res1\nprofile: p\nkind: ftp\nstate: ") {
			t.Errorf("%s YAML:\n%s", name, y)
		}
	}
}
