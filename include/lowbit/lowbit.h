// lowbit — umbrella header.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "lowbit/error.h"         // IWYU pragma: export
#include "lowbit/profile.h"       // IWYU pragma: export
#include "lowbit/quant_params.h"  // IWYU pragma: export
#include "lowbit/quantizer.h"     // IWYU pragma: export
#include "lowbit/uniform.h"       // IWYU pragma: export
