// SPDX-License-Identifier: GPL-2.0
/*
 * Guest suite: kspan.ko loads, exposes /dev/kspan and its version, unloads
 * cleanly, survives repeated load/unload, and refuses to unload while the
 * device is open.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

TEST_F(loaded, device_node_is_world_rw_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(KSPAN_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 0777);
	EXPECT_EQ(10, major(st.st_rdev)); /* misc */
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
	EXPECT_EQ(0, kspan_abi_check(&ver));
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

TEST_HARNESS_MAIN
