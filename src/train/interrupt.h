// Ctrl-C during training: the first SIGINT/SIGTERM sets a flag the loop checks between steps (it then saves
// a checkpoint and exits cleanly). Another signal within kInterruptGraceSeconds of the first is ignored (a
// second Ctrl-C by reflex, or a tool that sends the signal twice, must not cost the checkpoint); one after it
// ends the process at once.
#pragma once

namespace whale {

inline constexpr int kInterruptGraceSeconds = 3;

void install_interrupt_handler();
bool interrupt_requested();

}  // namespace whale
