// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: kspan.ko loads, exposes /dev/kspan and its version, unloads
 * cleanly, survives repeated load/unload, and refuses to unload while the
 * device is open.
 */
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "guest_util.h"
#include "kspan_client.h"

FIXTURE(loaded) {
	int unused;
};

FIXTURE_SETUP(loaded)
{
	if (module_is_loaded("kspan"))
		ASSERT_EQ(0, module_unload("kspan"));
	ASSERT_EQ(0, module_load(kspan_ko_path(), NULL)) {
		TH_LOG("cannot load %s", kspan_ko_path());
	}
}

FIXTURE_TEARDOWN(loaded)
{
	if (module_is_loaded("kspan"))
		EXPECT_EQ(0, module_unload("kspan"));
}

/* The major the kernel gave "kspan" in /proc/devices, or -1. */
static int kspan_major(void)
{
	char line[128], name[64];
	FILE *f = fopen("/proc/devices", "re");
	int major, found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &major, name) == 2 && !strcmp(name, "kspan"))
			found = major;
	fclose(f);
	return found;
}

TEST_F(loaded, device_node_is_world_rw_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(KSPAN_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_EQ(0u, st.st_gid);
	EXPECT_EQ(kspan_major(), (int)major(st.st_rdev));
}

TEST_F(loaded, version_ioctl_matches_modinfo)
{
	struct kspan_version ver;
	char sysfs_version[64], cmd[PATH_MAX + 32], modinfo[64] = "";
	FILE *p;
	int fd = kspan_open(O_RDONLY);

	ASSERT_LE(0, fd);
	memset(&ver, 0xa5, sizeof(ver));
	ASSERT_EQ(0, ioctl(fd, KSPAN_IOC_VERSION, &ver));
	close(fd);

	EXPECT_EQ(KSPAN_ABI_MAJOR, ver.abi_major);
	EXPECT_EQ(KSPAN_ABI_MINOR, ver.abi_minor);
	EXPECT_EQ(0, kspan_abi_check(&ver, KSPAN_ABI_MINOR));
	ASSERT_GT(sizeof(ver.module_version),
		  strnlen(ver.module_version, sizeof(ver.module_version)));

	read_line("/sys/module/kspan/version", sysfs_version, sizeof(sysfs_version));
	EXPECT_STREQ(sysfs_version, ver.module_version);

	snprintf(cmd, sizeof(cmd), "modinfo -F version '%s'", kspan_ko_path());
	p = popen(cmd, "re");
	ASSERT_NE(NULL, p);
	if (fgets(modinfo, sizeof(modinfo), p))
		modinfo[strcspn(modinfo, "\n")] = '\0';
	EXPECT_EQ(0, pclose(p));
	EXPECT_STREQ(modinfo, ver.module_version);
}

TEST_F(loaded, version_reserved_bytes_are_zero)
{
	struct kspan_version ver;
	size_t used;
	int fd = kspan_open(O_RDONLY);
	unsigned int i;

	ASSERT_LE(0, fd);
	memset(&ver, 0xa5, sizeof(ver));
	ASSERT_EQ(0, ioctl(fd, KSPAN_IOC_VERSION, &ver));
	close(fd);

	EXPECT_EQ(0, ver.__reserved0);
	for (i = 0; i < sizeof(ver.__reserved) / sizeof(ver.__reserved[0]); i++)
		EXPECT_EQ(0, ver.__reserved[i]);
	/* The string's tail is zero too: no kernel stack behind the NUL. */
	used = strlen(ver.module_version);
	for (i = used; i < sizeof(ver.module_version); i++)
		EXPECT_EQ(0, ver.module_version[i]);
}

TEST_F(loaded, bad_pointer_gets_efault)
{
	int fd = kspan_open(O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, KSPAN_IOC_VERSION, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, KSPAN_IOC_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST_F(loaded, unknown_ioctl_gets_enotty)
{
	int fd = kspan_open(O_RDONLY);
	struct kspan_version ver;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, _IOR(KSPAN_IOC_MAGIC, 0x7f, struct kspan_version), &ver));
	EXPECT_EQ(ENOTTY, errno);
	/* Same number, wrong size: a different command. */
	EXPECT_EQ(-1, ioctl(fd, _IOR(KSPAN_IOC_MAGIC, 0x00, int), &ver));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(loaded, rmmod_while_open_fails_cleanly)
{
	struct kspan_version ver;
	int fd = kspan_open(O_RDONLY);

	ASSERT_LE(0, fd);
	/* The open file pins the module: the unload is refused, not deferred. */
	EXPECT_EQ(-EWOULDBLOCK, module_unload("kspan"));
	EXPECT_TRUE(module_is_loaded("kspan"));
	EXPECT_EQ(0, kspan_get_version(fd, &ver));
	close(fd);
	EXPECT_EQ(0, module_unload("kspan"));
	EXPECT_FALSE(module_is_loaded("kspan"));
	EXPECT_NE(0, access(KSPAN_DEVICE_PATH, F_OK));
}

/* Starts with the module unloaded and leaves it so. */
FIXTURE(unloaded) {
	int unused;
};

FIXTURE_SETUP(unloaded)
{
	if (module_is_loaded("kspan"))
		ASSERT_EQ(0, module_unload("kspan"));
}

FIXTURE_TEARDOWN(unloaded)
{
	if (module_is_loaded("kspan"))
		EXPECT_EQ(0, module_unload("kspan"));
}

TEST_F_TIMEOUT(unloaded, twenty_load_unload_cycles, 120)
{
	struct kspan_version ver;
	int i, fd;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, module_load(kspan_ko_path(), NULL)) {
			TH_LOG("load %d failed", i);
		}
		fd = kspan_open(O_RDONLY);
		ASSERT_LE(0, fd) {
			TH_LOG("open after load %d failed", i);
		}
		ASSERT_EQ(0, kspan_get_version(fd, &ver));
		close(fd);
		ASSERT_EQ(0, module_unload("kspan")) {
			TH_LOG("unload %d failed", i);
		}
		ASSERT_FALSE(module_is_loaded("kspan"));
	}
}

TEST_F(unloaded, load_twice_is_refused)
{
	ASSERT_EQ(0, module_load(kspan_ko_path(), NULL));
	EXPECT_EQ(-EEXIST, module_load(kspan_ko_path(), NULL));
}

/* Each bad value is refused at load with EINVAL, and leaves no trace. */
TEST_F(unloaded, bad_parameters_are_refused)
{
	static const char *const bad[] = {
		"ring_size=0", "ring_size=3000", "ring_size=12288",
		"ring_size=2048", "ring_size=4294967296",
		"record_max=0", "record_max=104", "record_max=65536",
		"ring_size=16384 record_max=4097",
		"watermark=0", "ring_size=16384 watermark=8193",
		"flush_interval_ms=0", "flush_interval_ms=60001",
		"consumer_gid=-2",
		"dev_mode=0", "dev_mode=01777", "dev_mode=010000", "dev_gid=4294967295",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, module_load(kspan_ko_path(), bad[i])) {
			TH_LOG("'%s' was not refused", bad[i]);
		}
		EXPECT_FALSE(module_is_loaded("kspan"));
		EXPECT_NE(0, access(KSPAN_DEVICE_PATH, F_OK));
	}
	/* The limits themselves are accepted. */
	ASSERT_EQ(0, module_load(kspan_ko_path(),
				 "ring_size=16384 record_max=4096 watermark=8192 flush_interval_ms=60000"));
	EXPECT_EQ(0, module_unload("kspan"));
}

/* dev_mode and dev_gid set the node devtmpfs creates; the group decides. */
TEST_F(unloaded, device_mode_and_group_are_parameters)
{
	struct stat st;
	int status, fd;
	pid_t pid;

	ASSERT_EQ(0, module_load(kspan_ko_path(), "dev_mode=0660 dev_gid=4242"));
	ASSERT_EQ(0, stat(KSPAN_DEVICE_PATH, &st));
	EXPECT_EQ(0660, st.st_mode & 07777);
	EXPECT_EQ(4242u, st.st_gid);
	EXPECT_EQ(0u, st.st_uid);

	/* Outside the group, no open; inside it, open to produce. */
	for (gid_t gid = 4241; gid <= 4242; gid++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			if (setgroups(0, NULL) || setgid(gid) || setuid(4000))
				_exit(10);
			fd = open(KSPAN_DEVICE_PATH, O_RDWR | O_CLOEXEC);
			if (gid == 4241)
				_exit(fd < 0 && errno == EACCES ? 0 : 11);
			_exit(fd >= 0 ? 0 : 12);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status)) {
			TH_LOG("gid %u", (unsigned int)gid);
		}
	}
	EXPECT_EQ(0, module_unload("kspan"));
}

TEST_HARNESS_MAIN
