//go:build tools

// Package tools pins Cartographer; scripts/e2e-setup.sh builds it and the e2e harness applies the
// CRDs and RBAC shipped in this module's download. go.sum records its hash: the checksum database
// does not list this module, so it is fetched once with GONOSUMDB and verified against go.sum after.
package tools

import _ "github.com/vmware-tanzu/cartographer/cmd/cartographer"
