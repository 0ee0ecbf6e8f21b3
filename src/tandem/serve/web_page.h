#pragma once
// The web chat page served at /: one static HTML file (serve/web/chat.html, inline CSS and
// JavaScript, no CDN, no build step) compiled into the binary.
#include <string_view>

namespace tandem::serve {

std::string_view chat_page();

}  // namespace tandem::serve
