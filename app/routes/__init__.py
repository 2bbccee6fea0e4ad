"""HTTP routes; each module declares its own APIRouter."""
