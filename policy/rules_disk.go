package policy

import "strings"

// Disks and file systems.

func init() {
	register(diskutilRule, "diskutil")
	register(mkfsRule, "mkfs", "mke2fs", "mkswap", "wipefs", "mkdosfs", "mkntfs", "mkexfatfs", "blkdiscard", "sg_format", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkfs.fat", "mkfs.ntfs", "mkfs.exfat", "mkfs.f2fs", "mkfs.minix", "mkfs.msdos", "mkfs.bfs", "mkfs.cramfs", "mkfs.jfs", "mkfs.reiserfs", "mkfs.udf", "zerofree", "flashrom")
	register(partitionRule, "fdisk", "sfdisk", "cfdisk", "parted", "gdisk", "sgdisk", "cgdisk", "gparted", "partprobe")
	register(cryptsetupRule, "cryptsetup")
	register(lvmRule, "lvremove", "vgremove", "pvremove", "lvreduce", "vgreduce", "lvresize", "mdadm", "dmsetup")
	register(zpoolRule, "zpool", "zfs")
	register(mountRule, "mount", "umount", "swapoff", "swapon", "losetup")
	register(hdparmRule, "hdparm", "nvme", "badblocks", "e2fsck", "fsck", "tune2fs", "debugfs", "resize2fs", "xfs_repair")
}

func mkfsRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("-V", "--version", "-h", "--help") && len(c.args()) == 1 {
			return
		}
	}
	if imageFileTarget(c) {
		// mkfs.ext4 ./disk.img formats an image file of the project, not
		// a device.
		return
	}
	c.emit(RuleDiskFormat, c.name+" creates a file system or wipes signatures, destroying the data on the device")
}

// imageFileTarget reports that the last operand is a plain file of the
// project (relative, static, not a device or a glob).
func imageFileTarget(c *cmd) bool {
	if c.name == "wipefs" || c.name == "blkdiscard" || c.name == "sg_format" || c.name == "flashrom" {
		return false
	}
	args := c.args()
	if len(args) == 0 {
		return false
	}
	last := args[len(args)-1]
	if !last.static || last.glob || strings.HasPrefix(last.s, "-") || strings.HasPrefix(last.s, "/") || strings.HasPrefix(last.s, "~") {
		return false
	}
	for _, p := range c.w.paths(last) {
		if strings.HasPrefix(p, "/") || classifyPath(p) != riskNone {
			return false
		}
	}
	return true
}

// partitionRule: partition editors are fine when they only list.
func partitionRule(c *cmd) {
	args := c.args()
	for _, a := range args {
		if a.is("-l", "--list", "-p", "--print", "-s", "--show-size", "-d", "--dump", "-V", "--verify", "--version", "-h", "--help", "-i", "--info", "-v", "--list-types", "-T", "-J", "--json", "print", "p") {
			if !(c.name == "sgdisk" && a.is("-d", "-s")) && !(c.name == "parted" && a.is("-s")) {
				if c.name != "parted" || a.is("print", "p", "-l", "--list") {
					return
				}
			}
		}
	}
	if c.name == "partprobe" {
		return
	}
	if c.name == "parted" {
		// parted DEVICE with no command is interactive; any command given
		// other than print modifies the table.
		ops := 0
		for _, a := range args {
			if !a.static || !strings.HasPrefix(a.s, "-") {
				ops++
			}
		}
		if ops <= 1 && !hasStatic(args, "-s") && !hasStatic(args, "--script") {
			c.emit(RuleDiskPartition, "parted opens a partition table for editing")
			return
		}
	}
	c.emit(RuleDiskPartition, c.name+" modifies a partition table")
}

func cryptsetupRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("luksFormat", "erase", "luksErase", "reencrypt", "luksKillSlot", "luksRemoveKey", "tcryptDump") {
			c.emit(RuleDiskFormat, "cryptsetup "+a.s+" destroys or rewrites encrypted volume headers")
			return
		}
	}
}

func lvmRule(c *cmd) {
	if c.name == "mdadm" {
		for _, a := range c.args() {
			if a.is("--zero-superblock", "--create", "-C", "--remove", "--fail", "--stop", "-S") {
				c.emit(RuleDiskFormat, "mdadm "+a.s+" changes a RAID array")
				return
			}
		}
		return
	}
	if c.name == "dmsetup" {
		for _, a := range c.args() {
			if a.is("remove", "remove_all", "wipe_table") {
				c.emit(RuleDiskFormat, "dmsetup "+a.s+" removes device-mapper devices")
			}
		}
		return
	}
	c.emit(RuleDiskLvm, c.name+" removes or shrinks LVM volumes")
}

func zpoolRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("destroy", "labelclear", "rollback") {
			c.emit(RuleDiskFormat, c.name+" "+a.s+" destroys pools, datasets or snapshots")
			return
		}
	}
}

func hdparmRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static {
			continue
		}
		switch {
		case strings.HasPrefix(a.s, "--security-erase"), strings.HasPrefix(a.s, "--trim-sector-ranges"), a.s == "--security-set-pass" && c.name == "hdparm",
			a.s == "--fwdownload", a.s == "--make-bad-sector":
			c.emit(RuleDiskFormat, c.name+" "+a.s+" erases or damages the drive")
			return
		case c.name == "nvme" && (a.s == "format" || a.s == "sanitize"):
			c.emit(RuleDiskFormat, "nvme "+a.s+" erases the drive")
			return
		case c.name == "badblocks" && (a.s == "-w" || shortBundleHas(a, "w", "bcdeiopt")):
			c.emit(RuleDiskFormat, "badblocks -w overwrites the whole device")
			return
		case (c.name == "debugfs" && (a.s == "-w" || shortBundleHas(a, "w", "")) || c.name == "xfs_repair" && a.s == "-L"):
			c.emit(RuleDiskFormat, c.name+" "+a.s+" writes file-system structures directly")
			return
		}
	}
}

// mountRule: changing what is mounted changes the whole machine's view of
// its files (remounting / read-write, unmounting a data volume, turning
// swap off under memory pressure). Listing is fine.
func mountRule(c *cmd) {
	args := c.args()
	if len(args) == 0 {
		return // mount, swapon and losetup alone only list
	}
	for _, a := range args {
		if a.is("-l", "--list", "-h", "--help", "-V", "--version", "--show", "-s", "--summary", "-a", "--all") && len(args) == 1 {
			if c.name == "mount" && a.is("-a", "--all") {
				break // mount -a mounts everything in fstab
			}
			if c.name == "swapoff" || c.name == "umount" {
				break // swapoff -a / umount -a act on everything
			}
			return
		}
	}
	c.emit(RuleDiskMount, c.name+" changes which file systems or swap the machine uses")
}

// diskutilRule: macOS diskutil erases, partitions and zeroes disks.
func diskutilRule(c *cmd) {
	for _, w := range subcommandWords(c.args(), 2) {
		lw := strings.ToLower(w)
		if strings.HasPrefix(lw, "erase") || strings.HasPrefix(lw, "zero") || strings.HasPrefix(lw, "secureerase") ||
			strings.HasPrefix(lw, "partitiondisk") || lw == "reformat" || strings.HasPrefix(lw, "randomdisk") ||
			lw == "deletecontainer" || lw == "deletevolume" || lw == "splitpartition" || lw == "mergepartitions" {
			c.emit(RuleDiskFormat, "diskutil "+w+" erases or repartitions a disk")
			return
		}
		if lw == "apfs" || lw == "cs" || lw == "ar" || lw == "corestorage" || lw == "appleraid" {
			continue
		}
		return
	}
}
