package linearize

import "errors"

var (
	// ErrNotLinearizable is wrapped by the error Check returns when the
	// history has no linearization.
	ErrNotLinearizable = errors.New("linearize: history is not linearizable")
	// ErrTimeout is wrapped by the error Check returns when porcupine ran out
	// of time before reaching a verdict; it must fail the test.
	ErrTimeout = errors.New("linearize: check timed out")
)
