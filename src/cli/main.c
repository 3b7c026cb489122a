/* main.c - command-line entry: parses the command and dispatches. */
#include <stdio.h>
int main(void) { puts("s3mirror"); return 0; }
