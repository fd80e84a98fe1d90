// PromptEncoder module
