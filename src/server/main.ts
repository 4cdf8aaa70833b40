import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { SiftServer } from './server';

// `createConnection` picks the transport from the command line: --stdio (what every editor uses),
// --node-ipc or --socket=N.
const connection = createConnection(ProposedFeatures.all);

// A bug must not take the editor's server down: report it in the log and keep serving.
process.on('uncaughtException', (error) => connection.console.error(`uncaught: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => connection.console.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

new SiftServer(connection).listen();
