/*
 * ip.c	The demo archive's "ip": only the "netns" object, enough to show and
 *	prove Red Hat Bug 882047.  Like iproute2's ip it also dispatches on its
 *	own name ("ip-netns" behaves as "ip netns").
 */
#include <stdio.h>
#include <string.h>

#include "ip_common.h"

static const char *version = "3.6.0";

/* iproute2's prefix match: "ex" matches "exec". */
int matches(const char *cmd, const char *pattern)
{
	size_t len = strlen(cmd);

	if (len == 0 || len > strlen(pattern))
		return -1;
	return memcmp(pattern, cmd, len);
}

static int usage(void)
{
	fprintf(stderr, "Usage: ip [ -V ] netns { list | add | delete | exec } ...\n");
	return -1;
}

int main(int argc, char **argv)
{
	const char *basename = strrchr(argv[0], '/');

	basename = basename ? basename + 1 : argv[0];
	if (strncmp(basename, "ip-", 3) == 0)
		return do_netns(argc - 1, argv + 1) ? 1 : 0;

	if (argc > 1 && strcmp(argv[1], "-V") == 0) {
		printf("ip utility, iproute2-ss%s (netnsfix demo)\n", version);
		return 0;
	}
	if (argc < 2 || matches(argv[1], "netns") != 0)
		return usage() ? 1 : 0;
	return do_netns(argc - 2, argv + 2) ? 1 : 0;
}
