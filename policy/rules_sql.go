package policy

import (
	"strings"
)

// Database clients given destructive SQL (or Redis/Mongo commands).

func init() {
	register(sqlClientRule, "psql", "mysql", "mariadb", "sqlite3", "sqlite", "cockroach", "clickhouse-client", "clickhouse", "duckdb", "sqlcmd", "usql", "pgcli", "mycli", "litecli", "snowsql", "bq", "trino", "presto", "spark-sql", "hive", "beeline", "cqlsh")
	register(mysqladminRule, "mysqladmin")
	register(dropdbRule, "dropdb", "dropuser", "pg_dropcluster")
	register(redisRule, "redis-cli", "valkey-cli", "keydb-cli")
	register(mongoRule, "mongosh", "mongo")
	register(frameworkDBRule, "rails", "rake", "prisma", "sequelize", "sequelize-cli", "mix", "knex", "typeorm", "diesel", "sqlx", "alembic", "flask", "symfony", "console")
}

var (
	sqlComment   = regexpMust(`(?s)/\*.*?\*/|--[^\n]*|#[^\n]*`)
	sqlDrop      = regexpMust(`(?i)\bdrop\s+(database|table|schema|index|view|user|role|function|procedure|trigger|sequence|tablespace|owned|extension|type|collection|materialized\s+view|keyspace|column|domain|policy|publication|subscription|server|aggregate|if\s+exists)\b`)
	sqlTruncate  = regexpMust(`(?i)\btruncate\b`)
	sqlDelete    = regexpMust(`(?i)\bdelete\s+from\b`)
	sqlUpdate    = regexpMust(`(?i)\bupdate\s+\S+(\s+\S+)?\s+set\b`)
	sqlWhere     = regexpMust(`(?i)\bwhere\b`)
	sqlAlterDrop = regexpMust(`(?i)\balter\s+table\b[^;]*\bdrop\b`)
	sqlAttachCmd = regexpMust(`(?i)(^|\n)\s*\\!|(^|\n)\s*\.shell\b|(^|\n)\s*\.system\b|(^|\n)\s*system\s|\bcopy\b[^;]*\b(to|from)\s+program\b|\bload_file\s*\(|\binto\s+(out|dump)file\b`)
	sqlEscapedWS = strings.NewReplacer(`\n`, " ", `\t`, " ", `\r`, " ")
)

// sqlDanger returns why SQL text is destructive, or "".
func sqlDanger(text string) string {
	if m := sqlAttachCmd.FindString(text); m != "" {
		return "runs an operating-system command from the SQL client (" + strings.TrimSpace(m) + ")"
	}
	clean := sqlEscapedWS.Replace(sqlComment.ReplaceAllString(text, " "))
	if m := sqlDrop.FindString(clean); m != "" {
		return "contains " + strings.ToUpper(strings.Join(strings.Fields(m), " "))
	}
	if sqlAlterDrop.MatchString(clean) {
		return "contains ALTER TABLE ... DROP"
	}
	// Statements are separated by ';' (SQL text, not shell).
	for _, stmt := range strings.Split(clean, ";") {
		if sqlTruncate.MatchString(stmt) && !strings.Contains(strings.ToLower(stmt), "truncate(") {
			return "contains TRUNCATE"
		}
		if sqlDelete.MatchString(stmt) && !sqlWhere.MatchString(stmt) {
			return "contains DELETE FROM without WHERE"
		}
		if sqlUpdate.MatchString(stmt) && !sqlWhere.MatchString(stmt) {
			return "contains UPDATE without WHERE"
		}
		if (sqlDelete.MatchString(stmt) || sqlUpdate.MatchString(stmt)) && alwaysTrue(whereClause(stmt)) {
			return "contains a DELETE or UPDATE whose WHERE is always true (" + strings.TrimSpace(whereClause(stmt)) + ")"
		}
	}
	return ""
}

var (
	sqlWhereClause = regexpMust(`(?is)\bwhere\b(.*?)(\border\s+by\b|\blimit\b|\breturning\b|\bgroup\s+by\b|$)`)
	sqlOr          = regexpMust(`(?i)\s+or\s+|\|\|`)
	sqlAnd         = regexpMust(`(?i)\s+and\s+|&&`)
	sqlCompare     = regexpMust(`^(.+?)\s*(<=|>=|<>|!=|==|=|<|>|\blike\b|\bis\b)\s*(.+)$`)
)

// whereClause is the condition of a DELETE or UPDATE statement.
func whereClause(stmt string) string {
	m := sqlWhereClause.FindStringSubmatch(stmt)
	if m == nil {
		return ""
	}
	return m[1]
}

// alwaysTrue reports a condition that holds for every row: a true
// literal, a value compared with itself, two literals that compare true,
// LIKE '%', in any disjunct (... OR 1=1).
func alwaysTrue(cond string) bool {
	cond = strings.TrimSpace(cond)
	if cond == "" {
		return false
	}
	for _, d := range sqlOr.Split(cond, -1) {
		all := true
		for _, c := range sqlAnd.Split(d, -1) {
			if !trueAtom(c) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func trueAtom(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	switch s {
	case "1", "true", "not false", "not 0", "not null is null", "'1'":
		return true
	}
	m := sqlCompare.FindStringSubmatch(s)
	if m == nil {
		if n, ok := sqlNumber(s); ok {
			return n != 0
		}
		return false
	}
	l, op, r := strings.TrimSpace(m[1]), m[2], strings.TrimSpace(m[3])
	if op == "like" {
		return r == "'%'" || r == "'%%'" || l == r
	}
	if op == "is" {
		return r == "not null" && (sqlLiteral(l) || l == "1") || r == "null" && l == "null"
	}
	if l == r {
		return op == "=" || op == "==" || op == "<=" || op == ">="
	}
	if (op == "<>" || op == "!=") && sqlLiteral(l) && sqlLiteral(r) {
		return true // two different literals
	}
	a, okA := sqlNumber(l)
	b, okB := sqlNumber(r)
	if !okA || !okB {
		return false
	}
	switch op {
	case "<>", "!=":
		return a != b
	case "<":
		return a < b
	case ">":
		return a > b
	case "<=":
		return a <= b
	case ">=":
		return a >= b
	}
	return a == b
}

func sqlNumber(s string) (float64, bool) {
	s = strings.Trim(s, "'")
	if s == "" {
		return 0, false
	}
	var n float64
	for i, ch := range s {
		if ch < '0' || ch > '9' {
			if ch == '-' && i == 0 {
				continue
			}
			return 0, false
		}
		n = n*10 + float64(ch-'0')
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

func sqlLiteral(s string) bool {
	_, num := sqlNumber(s)
	return num || len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\''
}

// sqlClientRule finds inline SQL in options, operands or stdin.
func sqlClientRule(c *cmd) {
	args := c.args()
	var sql []arg
	codeOpts := map[string]bool{"-c": true, "--command": true, "-e": true, "--execute": true, "-q": true, "--query": true, "-Q": true, "--multiquery": true, "-cmd": true}
	if c.name == "cockroach" || c.name == "clickhouse" {
		if len(args) > 0 {
			args = args[1:]
		}
	}
	var operands []arg
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static {
			operands = append(operands, a)
			continue
		}
		name, val, hasEq := strings.Cut(a.s, "=")
		if codeOpts[name] && strings.HasPrefix(a.s, "-") {
			if hasEq {
				sql = append(sql, arg{s: val, static: true})
			} else if i+1 < len(args) {
				i++
				sql = append(sql, args[i])
			}
			continue
		}
		if c.name == "mysql" || c.name == "mariadb" {
			if strings.HasPrefix(a.s, "-e") && len(a.s) > 2 && !strings.HasPrefix(a.s, "--") {
				sql = append(sql, arg{s: a.s[2:], static: true})
				continue
			}
		}
		if strings.HasPrefix(a.s, "-") {
			// Options with a separate value in the common clients.
			if a.is("-h", "-p", "-U", "-d", "-u", "-P", "-f", "--file", "--host", "--port", "--user", "--username", "--dbname", "-D", "--database", "-S", "--socket", "-o", "--output", "-v", "--set", "-F", "-R", "--separator", "-A", "--format", "--init") && !(c.name == "mysql" && a.is("-p", "-A")) {
				i++
			}
			continue
		}
		operands = append(operands, a)
	}
	switch c.name {
	case "sqlite3", "sqlite", "duckdb", "litecli":
		// sqlite3 DB "SQL..."
		if len(operands) > 1 {
			sql = append(sql, operands[1:]...)
		}
	}
	for _, s := range sql {
		if !s.static {
			c.emit(RuleSqlDynamic, c.name+" runs SQL text that is not known statically")
			continue
		}
		if why := sqlDanger(s.s); why != "" {
			c.emit(RuleSqlDestructive, c.name+" SQL "+why)
			return
		}
	}
	in := c.stdin
	for _, o := range c.args() {
		if len(o.procs) > 0 { // -f <(...) and friends
			in = c.w.feedOfStmts(o.procs[0].Stmts)
		}
	}
	if len(sql) == 0 {
		switch {
		case in.kind == feedStatic:
			if why := sqlDanger(in.text); why != "" {
				c.emit(RuleSqlDestructive, c.name+" reads SQL that "+why)
			}
		case in.kind == feedDecoded && !in.compressed, in.kind == feedRemote:
			c.emit(RuleSqlDynamic, c.name+" reads SQL that is decoded or downloaded on the way in ("+in.what+"), which hides what it does")
		}
	}
}

// frameworkDBTasks are framework commands that drop or wipe databases.
func frameworkDBTasks(s string) bool {
	switch s {
	case "db:drop", "db:reset", "db:schema:load", "db:purge", "db:wipe",
		"migrate:fresh", "migrate:reset", "ecto.drop", "ecto.reset", "database:drop", "doctrine:database:drop",
		"doctrine:schema:drop", "flush", "reset_db", "sqlflush", "schema:drop", "drop", "downgrade":
		return true
	}
	return false
}

// frameworkDBRule: rails db:drop, prisma migrate reset, artisan
// migrate:fresh, manage.py flush and friends.
func frameworkDBRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if !a.static {
			continue
		}
		switch {
		case frameworkDBTasks(a.s) && !(a.s == "drop" && c.name != "sequelize" && c.name != "typeorm") && !(a.s == "downgrade" && c.name != "alembic" && c.name != "flask"):
			c.emit(RuleSqlDestructive, c.name+" "+a.s+" drops or wipes a database")
			return
		case a.s == "reset" && i > 0 && args[i-1].is("migrate", "database") && (c.name == "prisma" || c.name == "diesel" || c.name == "sqlx"):
			c.emit(RuleSqlDestructive, c.name+" "+args[i-1].s+" reset drops the database")
			return
		case a.s == "--force-reset" || a.s == "--accept-data-loss":
			c.emit(RuleSqlDestructive, c.name+" "+a.s+" discards data")
			return
		}
	}
}

func mysqladminRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("drop", "shutdown", "kill", "flush-privileges", "password") {
			c.emit(RuleSqlDestructive, "mysqladmin "+a.s+" drops a database, stops the server or changes credentials")
			return
		}
	}
}

func dropdbRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("--help", "-V", "--version") {
			return
		}
	}
	c.emit(RuleSqlDestructive, c.name+" deletes a database, role or cluster")
}

var redisDanger = map[string]string{"FLUSHALL": "deletes every key", "FLUSHDB": "deletes every key of the database",
	"SHUTDOWN": "stops the server", "DEBUG": "can crash the server", "SLAVEOF": "replaces the data with another server's", "REPLICAOF": "replaces the data with another server's",
	"MODULE": "loads native code", "SCRIPT": "manages server-side scripts", "EVAL": "runs server-side Lua", "FUNCTION": "manages server-side functions", "SWAPDB": "swaps databases", "MIGRATE": "moves keys away"}

func redisRule(c *cmd) {
	args := c.args()
	var cmdWords []arg
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.static && strings.HasPrefix(a.s, "-") {
			if a.is("-h", "-p", "-a", "-n", "-u", "-s", "--user", "--pass", "-r", "-i", "--tls", "-c", "--cacert", "--cert", "--key", "--sni", "-e", "-x", "-d", "--eval") {
				if a.is("--eval") {
					c.emit(RuleSqlDestructive, "redis-cli --eval runs a Lua script on the server")
					return
				}
				if !a.is("--tls", "-c", "-e", "-x") {
					i++
				}
			}
			continue
		}
		cmdWords = append(cmdWords, args[i:]...)
		break
	}
	check := func(words []string) bool {
		if len(words) == 0 {
			return false
		}
		v := strings.ToUpper(words[0])
		if v == "CONFIG" && len(words) > 1 && strings.EqualFold(words[1], "SET") {
			c.emit(RuleSqlDestructive, "redis CONFIG SET changes the server configuration (a known path to writing files)")
			return true
		}
		if why, ok := redisDanger[v]; ok {
			c.emit(RuleSqlDestructive, "redis "+v+" "+why)
			return true
		}
		return false
	}
	if len(cmdWords) > 1 && cmdWords[0].static && isOneOf(strings.ToUpper(cmdWords[0].s), "DEL", "UNLINK", "HDEL", "EXPIRE", "GETDEL") {
		for _, a := range cmdWords[1:] {
			if a.fromStdin || !a.static && a.split {
				c.emit(RuleSqlDestructive, "redis "+strings.ToUpper(cmdWords[0].s)+" of keys listed at run time (possibly every key)")
				return
			}
		}
	}
	var words []string
	for _, a := range cmdWords {
		if !a.static {
			if len(words) == 0 {
				c.emit(RuleSqlDynamic, "redis-cli runs a command that is not known statically")
				return
			}
			break
		}
		words = append(words, a.s)
	}
	if check(words) {
		return
	}
	if len(cmdWords) == 0 && c.stdin.kind == feedStatic {
		for _, line := range strings.Split(c.stdin.text, "\n") {
			if check(strings.Fields(line)) {
				return
			}
		}
	}
}

var mongoDanger = regexpMust(`(?i)dropDatabase\s*\(|\.drop\s*\(|deleteMany\s*\(\s*\{\s*\}|remove\s*\(\s*\{\s*\}|\.remove\s*\(\s*\)|dropUser|dropAllUsers|dropIndexes|shutdownServer|\bdeleteMany\s*\(\s*\)|updateMany\s*\(\s*\{\s*\}`)

func mongoRule(c *cmd) {
	args := c.args()
	var code []arg
	for i, a := range args {
		if a.is("--eval") && i+1 < len(args) {
			code = append(code, args[i+1])
		} else if a.static && strings.HasPrefix(a.s, "--eval=") {
			code = append(code, arg{s: strings.TrimPrefix(a.s, "--eval="), static: true})
		}
	}
	if len(code) == 0 && c.stdin.kind == feedStatic {
		code = append(code, arg{s: c.stdin.text, static: true})
	}
	for _, s := range code {
		if !s.static {
			c.emit(RuleSqlDynamic, c.name+" evaluates code that is not known statically")
			return
		}
		if m := mongoDanger.FindString(s.s); m != "" {
			c.emit(RuleSqlDestructive, c.name+" code calls "+m+", deleting data")
			return
		}
	}
}
