# Sourced by the scripts that need Go: where it is looked for, in one place. Prints the go binary: the one
# on PATH, else the official tarball's /usr/local/go/bin/go (which is often not on a non-login PATH).
go_command() { command -v go || { [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go; }; }
