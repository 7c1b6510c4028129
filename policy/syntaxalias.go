package policy

import "mvdan.cc/sh/v3/syntax"

// Short aliases for syntax types used in rule files.
type (
	syntaxWordPart  = syntax.WordPart
	syntaxParamExp  = syntax.ParamExp
	syntaxDblQuoted = syntax.DblQuoted
)

const (
	redirOut    = syntax.RdrOut
	redirAppend = syntax.AppOut
	redirClob   = syntax.RdrClob
)
