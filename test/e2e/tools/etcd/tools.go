//go:build tools

// Package tools pins the etcd server the e2e control plane runs; scripts/e2e-setup.sh builds it.
// It is its own module because etcd's dependency versions clash with Kubernetes'.
package tools

import _ "go.etcd.io/etcd/server/v3"
