import { OVERVIEW_COMMAND } from '../protocol/overview';

/**
 * The client's own commands (the palette entries in package.json). They differ from the server's
 * command ids (`Commands` in the protocol: sift.scoreFile, ...) because the language client
 * registers those itself, to run them on the server when a hover link or code action uses them.
 */
export const CommandIds = {
  scoreFile: 'sift.editor.scoreFile',
  scoreSelection: 'sift.editor.scoreSelection',
  cancel: 'sift.editor.cancel',
  filterFile: 'sift.editor.filterFile',
  clearScores: 'sift.editor.clearScores',
  setApiKey: 'sift.setScorerApiKey',
  clearApiKey: 'sift.clearScorerApiKey',
  showLog: 'sift.showLog',
  restartServer: 'sift.restartServer',
  reflectRecord: 'sift.editor.reflectRecord',
  reflectRecords: 'sift.editor.reflectRecords',
  reflectRecordsBatch: 'sift.editor.reflectRecordsBatch',
  setTeacherApiKey: 'sift.setTeacherApiKey',
  clearTeacherApiKey: 'sift.clearTeacherApiKey',
  chooseStudentModel: 'sift.chooseStudentModel',
  overview: OVERVIEW_COMMAND,
  showRecord: 'sift.editor.showRecord',
  nextRecordByScore: 'sift.editor.nextRecordByScore',
  previousRecordByScore: 'sift.editor.previousRecordByScore',
} as const;
