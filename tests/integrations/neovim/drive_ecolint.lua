-- Drives `ecolint lsp` from Neovim's built-in LSP client (Neovim 0.7 and later), headless:
--   ECOLINT_FILE=... ECOLINT_CMD='["python","-m","ecolint","lsp"]' ECOLINT_OUT=result.json \
--     nvim --headless --clean -c "luafile drive_ecolint.lua"
-- Opens the file, waits for its diagnostics, applies the quick fix of the first diagnostic that
-- has one, then "fix all", and writes what it saw as JSON to ECOLINT_OUT.

local result = { steps = {} }
local function step(name) table.insert(result.steps, name) end

local function finish(failure)
  result.failure = failure
  vim.fn.writefile({ vim.fn.json_encode(result) }, os.getenv("ECOLINT_OUT"))
  vim.cmd("qall!")
end

local function diagnostics(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = (d.user_data or {}).lsp or {}
    table.insert(found, { code = d.code or lsp.code, lnum = d.lnum, col = d.col, end_lnum = d.end_lnum,
                          end_col = d.end_col, source = d.source, message = d.message })
  end
  return found
end

local function code_actions(bufnr, range, only)
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, range = range,
                   context = { diagnostics = {}, only = only } }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 30000) or {}
  local actions = {}
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {}) do table.insert(actions, action) end
  end
  return actions
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n") .. "\n"
end

local function wait_for_new_diagnostics(bufnr, before)
  return vim.wait(30000, function()
    return vim.fn.json_encode(diagnostics(bufnr)) ~= before
  end, 50)
end

local ok, failure = pcall(function()
  result.nvim = vim.version()
  local client_id = vim.lsp.start_client({
    name = "ecolint",
    cmd = vim.fn.json_decode(os.getenv("ECOLINT_CMD")),
    root_dir = vim.fn.fnamemodify(os.getenv("ECOLINT_FILE"), ":h"),
    flags = { debounce_text_changes = 0 },
  })
  assert(client_id, "the client did not start")
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("ECOLINT_FILE")))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(bufnr, client_id)
  step("attached")

  assert(vim.wait(60000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50), "no diagnostics arrived")
  result.diagnostics = diagnostics(bufnr)
  step("diagnostics")

  -- every code action offered on each diagnostic, as a user's menu lists them
  result.actions = {}
  local quick_fix
  for _, d in ipairs(result.diagnostics) do
    local range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.end_lnum, character = d.end_col } }
    local offered = {}
    for _, action in ipairs(code_actions(bufnr, range, nil)) do
      table.insert(offered, { title = action.title, kind = action.kind })
      if quick_fix == nil and action.kind == "quickfix" and action.title:find("(" .. d.code .. ")", 1, true) then
        quick_fix = { action = action, code = d.code }
      end
    end
    table.insert(result.actions, { code = d.code, lnum = d.lnum, offered = offered })
  end
  step("actions")

  assert(quick_fix, "no quick fix was offered")
  local client = vim.lsp.get_client_by_id(client_id)
  local before = vim.fn.json_encode(diagnostics(bufnr))
  vim.lsp.util.apply_workspace_edit(quick_fix.action.edit, client.offset_encoding)
  result.quick_fix = { code = quick_fix.code, title = quick_fix.action.title, text = buffer_text(bufnr) }
  assert(wait_for_new_diagnostics(bufnr, before), "no diagnostics after the quick fix")
  result.after_quick_fix = diagnostics(bufnr)
  step("quick fix")

  local fix_all = code_actions(bufnr, { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = 0 } },
                               { "source.fixAll" })
  result.fix_all = { offered = #fix_all }
  if #fix_all > 0 then
    before = vim.fn.json_encode(diagnostics(bufnr))
    result.fix_all.title = fix_all[1].title
    vim.lsp.util.apply_workspace_edit(fix_all[1].edit, client.offset_encoding)
    result.fix_all.text = buffer_text(bufnr)
    assert(wait_for_new_diagnostics(bufnr, before), "no diagnostics after fix all")
    result.after_fix_all = diagnostics(bufnr)
  end
  step("fix all")
  vim.lsp.stop_client(client_id)
end)
finish(not ok and tostring(failure) or vim.NIL)
