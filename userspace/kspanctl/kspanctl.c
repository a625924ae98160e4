// SPDX-License-Identifier: GPL-2.0
/*
 * kspanctl: inspect a running kspan module.
 *
 *   kspanctl version   print the module's version and ABI, and whether this
 *                      program speaks it (exit 1 when it does not)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kspan_client.h"

static int usage(FILE *out)
{
	fprintf(out, "usage: kspanctl version\n");
	return out == stdout ? 0 : 2;
}

static int cmd_version(void)
{
	struct kspan_version ver;
	char text[128];
	int fd, ret;

	fd = kspan_open(0);
	if (fd < 0) {
		fprintf(stderr, "kspanctl: cannot open %s: %s (is kspan.ko loaded?)\n",
			KSPAN_DEVICE_PATH, strerror(-fd));
		return 1;
	}
	ret = kspan_get_version(fd, &ver);
	close(fd);
	if (ret) {
		fprintf(stderr, "kspanctl: KSPAN_IOC_VERSION: %s\n", strerror(-ret));
		return 1;
	}
	kspan_version_format(&ver, text, sizeof(text));
	printf("%s\n", text);
	if (kspan_abi_check(&ver, 0)) {
		fprintf(stderr, "kspanctl: built for ABI %u.%u, incompatible with the module\n",
			KSPAN_ABI_MAJOR, KSPAN_ABI_MINOR);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "version"))
		return cmd_version();
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	return usage(stderr);
}
