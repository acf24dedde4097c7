// ecolint in VS Code: starts `ecolint lsp` from the selected Python environment and connects
// VS Code's language client to it (diagnostics, quick fixes, "fix all", notebooks as notebooks).

import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

interface Command {
  command: string;
  args: string[];
  from: string; // how it was found, for the output channel
}

// The Python extension's API, as far as it is used here (ms-python.python, 2023.x and later).
interface PythonEnvironments {
  getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
  resolveEnvironment(environment: { path: string }): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
}

async function selectedPython(resource?: vscode.Uri): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension("ms-python.python");
  if (!extension) {
    return undefined;
  }
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    const environments: PythonEnvironments | undefined = api?.environments;
    if (!environments) {
      return undefined;
    }
    const resolved = await environments.resolveEnvironment(environments.getActiveEnvironmentPath(resource));
    return resolved?.executable.uri?.fsPath;
  } catch (error) {
    output?.appendLine(`ecolint: the Python extension did not tell the selected environment: ${error}`);
    return undefined;
  }
}

// ecolint's command: the `ecolint.path` setting, else the selected environment's Python when
// ecolint is installed there (`python -m ecolint`), else `ecolint` on the PATH.
export async function findEcolint(settings: vscode.WorkspaceConfiguration, resource?: vscode.Uri): Promise<Command> {
  const configured = settings.get<string[]>("path", []).filter((part) => part.trim() !== "");
  if (configured.length > 0) {
    return { command: configured[0], args: [...configured.slice(1), "lsp"], from: "the ecolint.path setting" };
  }
  const python = await selectedPython(resource);
  if (python) {
    const bin = path.dirname(python);
    const script = path.join(bin, process.platform === "win32" ? "ecolint.exe" : "ecolint");
    if (fs.existsSync(script)) {
      return { command: script, args: ["lsp"], from: `the selected Python environment (${python})` };
    }
    output?.appendLine(`ecolint: not installed in the selected Python environment (${python}); trying the PATH`);
  }
  return { command: "ecolint", args: ["lsp"], from: "the PATH" };
}

function initializationOptions(settings: vscode.WorkspaceConfiguration): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const unsafeFixes = settings.get<boolean | null>("unsafeFixes", null);
  if (typeof unsafeFixes === "boolean") {
    options.unsafeFixes = unsafeFixes;
  }
  const gpu = settings.get<string>("gpu", "").trim();
  if (gpu) {
    options.gpu = gpu;
  }
  return options;
}

async function start(): Promise<void> {
  const settings = vscode.workspace.getConfiguration("ecolint");
  const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
  const found = await findEcolint(settings, resource);
  output?.appendLine(`ecolint: starting ${[found.command, ...found.args].join(" ")} (from ${found.from})`);
  const serverOptions: ServerOptions = { command: found.command, args: found.args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
      { scheme: "vscode-notebook-cell", language: "python" },
    ],
    outputChannel: output,
    initializationOptions: initializationOptions(settings),
  };
  client = new LanguageClient("ecolint", "ecolint", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    vscode.window.showErrorMessage(
      `ecolint: could not start "${found.command}" (from ${found.from}): ${error}. ` +
        "Install it in the selected Python environment (pip install 'ecolint[lsp]') or set ecolint.path.",
    );
  }
}

async function restart(): Promise<void> {
  if (client) {
    await client.stop().catch(() => undefined);
    client = undefined;
  }
  await start();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("ecolint");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("ecolint.restart", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("ecolint") || event.affectsConfiguration("python.defaultInterpreterPath")) {
        void restart();
      }
    }),
  );
  const python = vscode.extensions.getExtension("ms-python.python");
  const environments = python?.isActive ? python.exports?.environments : undefined;
  if (environments?.onDidChangeActiveEnvironmentPath) {
    context.subscriptions.push(environments.onDidChangeActiveEnvironmentPath(() => void restart()));
  }
  await start();
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
  }
}
