// Internal: the per-family grammar entry points that command.cpp's table calls. Must never be
// included outside src/proto/imap.
#pragma once
#include "proto/imap/command.hpp"
#include "proto/imap/grammar_util.hpp"

namespace tern::imap::detail {

R<CommandArgs> parse_fetch(Cursor& c, bool uid);
R<CommandArgs> parse_store(Cursor& c);
R<CommandArgs> parse_copy(Cursor& c);
R<CommandArgs> parse_uid_expunge(Cursor& c);
R<CommandArgs> parse_search(Cursor& c);
R<CommandArgs> parse_sort(Cursor& c);
R<CommandArgs> parse_thread(Cursor& c);
R<CommandArgs> parse_select(Cursor& c);
R<CommandArgs> parse_create(Cursor& c);
R<CommandArgs> parse_one_mailbox(Cursor& c);
R<CommandArgs> parse_rename(Cursor& c);
R<CommandArgs> parse_list(Cursor& c, bool lsub);
R<CommandArgs> parse_status(Cursor& c);
R<CommandArgs> parse_append(Cursor& c);

}  // namespace tern::imap::detail
