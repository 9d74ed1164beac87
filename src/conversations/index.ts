export { type ConversationSummary, ConversationError, TITLE_LENGTH, titleProblem, ConversationRemovedError, ConversationStore, DamagedTurnError, StoreWriteError, type Turn, type TurnInfo, TurnRecorder, type TurnStatus, conversationMessages, dataDirectory, firstCodePoints, gotAnswer } from "./store.js";
export { recordTurn } from "./record-turn.js";
