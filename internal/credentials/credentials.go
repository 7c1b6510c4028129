// Package credentials is the one list of where credentials live: the paths
// under a user's home that hold keys, tokens and private history, and the
// system files that only root may read. The classifier (a write or delete
// there asks) and the sandbox (hidden inside it) both use these lists, so
// what one protects the other protects too.
package credentials

import "path/filepath"

// HomePaths are credential stores relative to a user's home directory:
// directories and single files. Keep the list sorted by kind.
var HomePaths = []string{
	// keys and agents
	".ssh", ".gnupg", ".password-store",
	// cloud and cluster credentials
	".aws", ".azure", ".config/gcloud", ".gcloud", ".kube", ".docker",
	".oci", ".config/doctl", ".terraform.d",
	// forge and package-registry tokens
	".git-credentials", ".config/gh", ".config/hub", ".config/glab-cli",
	".netrc", ".npmrc", ".pypirc", ".gem/credentials", ".cargo/credentials",
	".cargo/credentials.toml", ".config/git/credentials",
	// desktop keyrings and browser profiles
	".local/share/keyrings", ".mozilla", ".config/google-chrome", ".config/chromium",
	// shell and tool history (typed passwords, tokens on command lines)
	".bash_history", ".zsh_history", ".python_history", ".mysql_history",
	".psql_history", ".node_repl_history", ".lesshst", ".viminfo",
	// Hermes Agent's own home (HERMES_HOME may point elsewhere too)
	".hermes",
	// database, vault and storage client credentials
	".pgpass", ".my.cnf", ".vault-token", ".s3cfg", ".boto", ".config/rclone",
	".config/op", ".terraformrc",
}

// SystemFiles are files on the host that hold other users' secrets and are
// readable by root alone.
var SystemFiles = []string{
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
	"/etc/security/opasswd", "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
	"/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_dsa_key",
	"/etc/sudoers", "/etc/sudoers.d", "/etc/ssl/private", "/var/lib/sss", "/root",
	// Debian's daily copies of the password files, and other system
	// secrets root alone reads: Kerberos keys, VPN and Wi-Fi passwords.
	"/var/backups/shadow.bak", "/var/backups/gshadow.bak", "/etc/krb5.keytab",
	"/etc/wireguard", "/etc/NetworkManager/system-connections",
	"/etc/ppp/chap-secrets", "/etc/ppp/pap-secrets",
}

// UnderHome returns HomePaths joined to home.
func UnderHome(home string) []string {
	out := make([]string, len(HomePaths))
	for i, p := range HomePaths {
		out[i] = filepath.Join(home, p)
	}
	return out
}

// MinSecretLen is the shortest value treated as a secret when masking:
// masking "1" or "true" everywhere would make the log unreadable and protect
// nothing. The environment filter drops secret-named variables whatever
// their length; only redaction uses this.
const MinSecretLen = 6
