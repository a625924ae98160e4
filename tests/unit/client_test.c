// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/lib/kspan_client (run under ASan + UBSan).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kspan_client.h"

static struct kspan_version make_version(unsigned int major, unsigned int minor,
					 const char *module)
{
	struct kspan_version ver;

	memset(&ver, 0, sizeof(ver));
	ver.abi_major = major;
	ver.abi_minor = minor;
	strncpy(ver.module_version, module, sizeof(ver.module_version));
	return ver;
}

TEST(abi_same_version_is_compatible)
{
	struct kspan_version ver = make_version(KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR, "x");

	EXPECT_EQ(0, kspan_abi_check(&ver, KSPAN_ABI_MINOR));
}

/* A caller asks for the minor whose features it needs, no more. */
TEST(abi_older_minor_is_enough_for_what_it_has)
{
	struct kspan_version ver = make_version(KSPAN_ABI_MAJOR, 1, "x");

	EXPECT_EQ(0, kspan_abi_check(&ver, 0));
	EXPECT_EQ(0, kspan_abi_check(&ver, 1));
	EXPECT_EQ(-EPROTO, kspan_abi_check(&ver, 2));
}

TEST(abi_newer_minor_is_compatible)
{
	struct kspan_version ver = make_version(KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR + 1, "x");

	EXPECT_EQ(0, kspan_abi_check(&ver, KSPAN_ABI_MINOR));
}

TEST(abi_other_major_is_incompatible)
{
	struct kspan_version older = make_version(KSPAN_ABI_MAJOR - 1, 99, "x");
	struct kspan_version newer = make_version(KSPAN_ABI_MAJOR + 1, 0, "x");

	EXPECT_EQ(-EPROTO, kspan_abi_check(&older, 0));
	EXPECT_EQ(-EPROTO, kspan_abi_check(&newer, 0));
}

TEST(format_names_module_and_abi)
{
	struct kspan_version ver = make_version(1, 7, "0.1.0");
	char buf[64];

	EXPECT_EQ((int)strlen("module 0.1.0, ABI 1.7"),
		  kspan_version_format(&ver, buf, sizeof(buf)));
	EXPECT_STREQ("module 0.1.0, ABI 1.7", buf);
}

TEST(format_bounds_unterminated_module_string)
{
	struct kspan_version ver = make_version(1, 0, "");
	char buf[128];

	/* A buggy or hostile kernel filled every byte: no NUL to stop at. */
	memset(ver.module_version, 'v', sizeof(ver.module_version));
	kspan_version_format(&ver, buf, sizeof(buf));
	EXPECT_EQ(strlen("module , ABI 1.0") + KSPAN_VERSION_LEN, strlen(buf));
}

TEST(format_truncates_to_buffer)
{
	struct kspan_version ver = make_version(1, 0, "0.1.0");
	char buf[8];

	EXPECT_LT(7, kspan_version_format(&ver, buf, sizeof(buf)));
	EXPECT_STREQ("module ", buf);
}

TEST(open_honours_kspan_device_and_reports_errno)
{
	int fd;

	setenv("KSPAN_DEVICE", "/nonexistent/kspan", 1);
	EXPECT_EQ(-ENOENT, kspan_open(O_RDONLY));
	setenv("KSPAN_DEVICE", "/dev/null", 1);
	fd = kspan_open(O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	unsetenv("KSPAN_DEVICE");
}

TEST(get_version_on_wrong_device_fails_cleanly)
{
	struct kspan_version ver;
	int fd = open("/dev/null", O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, kspan_get_version(fd, &ver));
	EXPECT_EQ(0, ver.abi_major);
	close(fd);
}

TEST_HARNESS_MAIN
