//go:build tools

// Package tools pins Flux's image-reflector-controller, the peer `npm run bench` compares the image
// controller with; scripts/e2e-setup.sh builds it and the bench applies the CRDs shipped in this
// module's download (config/crd/bases). go.sum records every hash, so building needs no checksum
// database.
package tools

import _ "github.com/fluxcd/image-reflector-controller"
