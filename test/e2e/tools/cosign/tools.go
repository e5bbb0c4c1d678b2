//go:build tools

// Package tools pins cosign, which the signature tests use to sign images in the test registry and
// whose `cosign verify` verdicts the controller's are compared with.
package tools

import _ "github.com/sigstore/cosign/v3/cmd/cosign"
