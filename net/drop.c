/*
 * Drop reason names, for the console and the STATS JSON line. The table is
 * generated from the same DROP_REASONS X-macro as the enum (drop.h), so a
 * reason added there gets its name here without a second list to forget.
 */
#include "net/drop.h"

static const char *const drop_reason_names[DROP__COUNT] = {
#define DROP_NAME(name, text) [DROP_##name] = text,
    DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};

const char *drop_reason_name(enum drop_reason r)
{
    /* The enum may arrive from a counter index or a corrupted value: the
     * unsigned compare also rejects negatives. */
    if ((unsigned)r >= DROP__COUNT)
        return "unknown";
    return drop_reason_names[r];
}
