package commands

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// Adapted from urfave/cli's autocomplete scripts: the shell asks the
// binary itself (--generate-bash-completion) for commands and names.
const bashCompletion = `_left4me_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _left4me_complete left4me
`

const zshCompletion = `#compdef left4me
_left4me() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _left4me left4me
`

func completionCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "SHELL",
		Description: `Examples:
  source <(left4me completion bash)
  left4me completion fish > ~/.config/fish/completions/left4me.fish`,
		BashComplete: func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "bash\nzsh\nfish") },
		Action: func(c *cli.Context) error {
			return writeCompletion(c.App, e.Stdout, c.Args().First())
		},
	}
}

// manCmd prints left4me(1), made from the command definitions themselves
// (make install and the package install it). Hidden: it is for packaging.
func manCmd() *cli.Command {
	return &cli.Command{
		Name: "man", Usage: "print the manual page left4me(1) (roff)", Hidden: true,
		Description: `Example:
  left4me man > left4me.1`,
		Action: func(c *cli.Context) error {
			page, err := c.App.ToManWithSection(1)
			if err != nil {
				return err
			}
			_, err = io.WriteString(c.App.Writer, finishMan(page))
			return err
		},
	}
}

func writeCompletion(app *cli.App, w io.Writer, shell string) error {
	var err error
	switch shell {
	case "bash":
		_, err = io.WriteString(w, bashCompletion)
	case "zsh":
		_, err = io.WriteString(w, zshCompletion)
	case "fish":
		var s string
		if s, err = app.ToFishCompletion(); err == nil {
			_, err = io.WriteString(w, s)
		}
	default:
		return fmt.Errorf("%w: completion for %q: choose bash, zsh or fish", fail.ErrUsage, shell)
	}
	return err
}
