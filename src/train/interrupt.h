// Ctrl-C during training: the first SIGINT/SIGTERM sets a flag the loop checks between steps (it then saves
// a checkpoint and exits cleanly); a second one terminates at once.
#pragma once

namespace whale {

void install_interrupt_handler();
bool interrupt_requested();

}  // namespace whale
