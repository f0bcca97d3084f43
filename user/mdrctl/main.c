/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include <stdio.h>
int main(void) { fputs("not built yet\n", stderr); return 1; }
