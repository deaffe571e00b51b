// lowbit — umbrella header.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "lowbit/calibrate.h"     // IWYU pragma: export
#include "lowbit/error.h"         // IWYU pragma: export
#include "lowbit/fixed_point.h"   // IWYU pragma: export
#include "lowbit/hilbert.h"       // IWYU pragma: export
#include "lowbit/hilbert3.h"      // IWYU pragma: export
#include "lowbit/hilbert_eval.h"  // IWYU pragma: export
#include "lowbit/integer_layers.h"  // IWYU pragma: export
#include "lowbit/integer_requantize.h"  // IWYU pragma: export
#include "lowbit/profile.h"       // IWYU pragma: export
#include "lowbit/pwlq.h"          // IWYU pragma: export
#include "lowbit/quant_params.h"  // IWYU pragma: export
#include "lowbit/quantizer.h"     // IWYU pragma: export
#include "lowbit/uniform.h"       // IWYU pragma: export
#include "lowbit/io/gnubg.h"      // IWYU pragma: export
#include "lowbit/io/npy.h"        // IWYU pragma: export
#include "lowbit/io/params_json.h"  // IWYU pragma: export
