export const tuiPlaceholder = 'tui';
