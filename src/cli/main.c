/* main.c - s3mirror's entry point: options, then the command. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct s3m_opts o;
    memset(&o, 0, sizeof(o));
    char **args = NULL;
    int nargs = 0;
    int rc = s3m_cli_parse(argc, argv, &o, &args, &nargs);
    if (rc >= 0)
        goto out;
    rc = S3M_EXIT_OK;
    if (o.version || (nargs && !strcmp(args[0], "version"))) {
        s3m_cmd_version();
        goto out;
    }
    if (o.help || !nargs || !strcmp(args[0], "help")) {
        s3m_cli_usage(stdout);
        rc = nargs || o.help ? S3M_EXIT_OK : S3M_EXIT_USAGE;
        goto out;
    }
    const char *cmd = args[0];
    if (!strcmp(cmd, "ls")) {
        rc = s3m_cmd_ls(&o, args + 1, nargs - 1);
    } else if (!strcmp(cmd, "sync") || !strcmp(cmd, "copy") || !strcmp(cmd, "check")) {
        rc = s3m_cmd_sync(&o, cmd, args + 1, nargs - 1);
    } else if (!strcmp(cmd, "apply")) {
        rc = s3m_cmd_apply(&o, args + 1, nargs - 1, argc, argv);
    } else if (!strcmp(cmd, "shard-plan")) {
        rc = s3m_cmd_shard_plan(&o, args + 1, nargs - 1);
    } else if (!strcmp(cmd, "completion")) {
        rc = nargs == 2 ? s3m_cli_completion(stdout, args[1]) : s3m_cli_completion(stdout, NULL);
    } else if (!strcmp(cmd, "lsd")) {
        rc = s3m_cmd_lsd(&o, args + 1, nargs - 1);
    } else {
        fprintf(stderr, "s3mirror: error: unknown command '%s'\nTry 's3mirror --help'.\n", cmd);
        rc = S3M_EXIT_USAGE;
    }
out:
    s3m_cli_opts_cleanup(&o);
    free(args);
    return rc;
}
