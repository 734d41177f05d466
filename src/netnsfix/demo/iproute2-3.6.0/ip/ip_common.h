/* ip_common.h: what the demo's ip/ipnetns.c needs from the rest of ip. */
#ifndef IP_COMMON_H
#define IP_COMMON_H 1

#include <stdlib.h>

int matches(const char *cmd, const char *pattern);
int do_netns(int argc, char **argv);

#endif
