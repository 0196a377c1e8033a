/*
 * libFuzzer target: pktmetal.conf text into config_parse. Any input must
 * parse or fail with a "config:LINE: " message, never crash or overrun.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config cfg;
    char err[128];

    config_defaults(&cfg);
    int ret = config_parse(&cfg, (const char *)data, size, err, sizeof(err));
    if (ret < 0 && strncmp(err, "config:", 7) != 0)
        abort();
    if (ret == 0 && err[0] != '\0')
        abort();
    return 0;
}
