package policy

import "regexp"

// regexpMust compiles a pattern at package initialisation.
func regexpMust(p string) *regexp.Regexp { return regexp.MustCompile(p) }
