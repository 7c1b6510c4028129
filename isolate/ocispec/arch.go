package ocispec

import "runtime"

func runtimeArch() string { return runtime.GOARCH }
