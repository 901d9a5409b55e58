/* Everything a plugin author needs from the C ABI, in one include. */
#ifndef CAP_CAP_H
#define CAP_CAP_H

#include "cap/abi.h"
#include "cap/backend.h"
#include "cap/contrastive.h"
#include "cap/criterion.h"
#include "cap/distill.h"
#include "cap/schedule.h"

#endif /* CAP_CAP_H */
