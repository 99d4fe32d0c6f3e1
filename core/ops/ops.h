/* The operations: backup, restore, check (each in its own header) and the
 * walk of a snapshot's tree. They report through callbacks
 * (core/util/events.h) and never print. */
#ifndef MV_OPS_H
#define MV_OPS_H

#include <stdint.h>

#include "core/ops/backup.h"
#include "core/ops/check.h"
#include "core/ops/restore.h"
#include "core/repo/repo.h"
#include "core/util/events.h"

#endif
