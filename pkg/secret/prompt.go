package secret

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
)

// Prompter asks the user for values at a terminal. It hides survey/v2,
// which is archived upstream, so that it can be replaced, and so that
// tests can answer prompts without a terminal.
type Prompter interface {
	// Password asks for a secret without echoing it.
	Password(message string) (string, error)
	// Confirm asks a yes/no question, def being the answer to Enter.
	Confirm(message string, def bool) (bool, error)
	// Input asks for a visible line of text, def being the answer to Enter.
	Input(message, def string) (string, error)
}

// NewSurveyPrompter returns a Prompter that reads keys from in and draws
// prompts on out; with the CLI, out is standard error so that prompts
// never mix with the results on standard output.
func NewSurveyPrompter(in *os.File, out *os.File, errOut io.Writer) Prompter {
	return &surveyPrompter{in: in, out: out, errOut: errOut}
}

type surveyPrompter struct {
	in     *os.File
	out    *os.File
	errOut io.Writer
}

// Password implements Prompter.
func (s *surveyPrompter) Password(message string) (string, error) {
	return askOne[string](s, &survey.Password{Message: message})
}

// Confirm implements Prompter.
func (s *surveyPrompter) Confirm(message string, def bool) (bool, error) {
	return askOne[bool](s, &survey.Confirm{Message: message, Default: def})
}

// Input implements Prompter.
func (s *surveyPrompter) Input(message, def string) (string, error) {
	return askOne[string](s, &survey.Input{Message: message, Default: def})
}

func askOne[T any](s *surveyPrompter, p survey.Prompt) (T, error) {
	var v T
	err := survey.AskOne(p, &v, survey.WithStdio(s.in, s.out, s.errOut))
	return v, promptErr(err)
}

func promptErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, terminal.InterruptErr):
		return ErrCanceled
	case errors.Is(err, io.EOF):
		// Ctrl-D on an empty line, or the terminal went away.
		return fmt.Errorf("%w: end of input", ErrCanceled)
	}
	return fmt.Errorf("prompt: %w", err)
}
