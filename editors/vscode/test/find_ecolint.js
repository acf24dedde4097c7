// Runs the compiled extension's findEcolint against a stand-in for VS Code's API and prints
// the command it picks, as JSON. Usage: node test/find_ecolint.js '<case as JSON>'
//   case: { "path": [...] (the ecolint.path setting), "python": "/env/bin/python" or null }
const Module = require("module");
const scenario = JSON.parse(process.argv[2]);
const vscode = {
  extensions: {
    getExtension: (id) =>
      id === "ms-python.python" && scenario.python
        ? {
            isActive: true,
            exports: {
              environments: {
                getActiveEnvironmentPath: () => ({ path: scenario.python }),
                resolveEnvironment: async () => ({ executable: { uri: { fsPath: scenario.python } } }),
              },
            },
          }
        : undefined,
  },
};
const resolve = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return {};
  return resolve.call(this, request, parent, isMain);
};
const { findEcolint } = require("../out/extension.js");
const settings = { get: (key, fallback) => (key === "path" ? scenario.path : fallback) };
findEcolint(settings).then((found) => console.log(JSON.stringify(found)));
